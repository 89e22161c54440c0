// The driver lives beside @freshkey/mikro-orm so its imports (@mikro-orm/*) resolve from that package.
export { mikroOrmDriver } from '../../../packages/mikro-orm/test/support/conformance-driver.ts'
