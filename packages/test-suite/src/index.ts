// The freshkey conformance suites, for vitest: `storeSuite(name, factory)` for a Store,
// `adapterSuite(drivers, options)` for an ORM adapter.
export type { ArticleData, ConformanceDriver, OrmSession } from './adapter-driver.ts'
export type { AdapterSuiteOptions } from './adapter-suite.ts'
export { adapterSuite } from './adapter-suite.ts'
export type { StoreFactory } from './store-suite.ts'
export { storeSuite } from './store-suite.ts'
