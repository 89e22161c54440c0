// The driver lives beside @freshkey/typeorm so its imports (typeorm, sql.js, pg) resolve from that package.
export { typeormDriver } from '../../../packages/typeorm/test/support/conformance-driver.ts'
