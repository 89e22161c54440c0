export type { InstrumentFreshkeyOptions } from './instrument.ts'
export { INSTRUMENTATION_SCOPE, instrumentFreshkey } from './instrument.ts'
