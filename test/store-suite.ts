// The store conformance suite lives in @freshkey/test-suite; this path stays for older imports.
export type { StoreFactory } from '@freshkey/test-suite'
export { storeSuite } from '@freshkey/test-suite'
