// The freshkey store conformance suite: `storeSuite(name, factory)` in a vitest file.
export type { StoreFactory } from './store-suite.ts'
export { storeSuite } from './store-suite.ts'
