// The adapter and store API of @freshkey/core: what an ORM adapter or a store implementation uses.
// Apps import from '@freshkey/core'.
export type { BulkChange, Change, RowChange, RowImage } from '../change.ts'
export type { PrimaryKey, PrimaryKeyValue } from '../dependency.ts'
export { canonicalPk } from '../dependency.ts'
export { canonical, segment, sha256 } from '../encoding.ts'
export type { FreshkeyInternals } from '../freshkey.ts'
export { addResolver } from '../freshkey.ts'
export { Keyspace } from '../keyspace.ts'
export type { EntityResolver } from '../resolver.ts'
export type { Scheme } from '../schemes.ts'
export { decodeScheme, encodeScheme } from '../schemes.ts'
export { scopeValue } from '../scope-value.ts'
export type { SqlWriteTarget } from '../sql-tables.ts'
export { sqlTablesRead, sqlTablesWritten, sqlWrites, sqlWriteTargets, stripSql } from '../sql-tables.ts'
export type {
  BumpRequest,
  BumpResult,
  LiftRequest,
  ReadRequest,
  ReadResult,
  SchemeLocation,
  SchemeRecord,
  SchemeSet,
  Store,
  StoreCheck,
  StoredEntry,
  TokenRead,
  WriteRequest,
} from '../store.ts'
export { rememberText } from '../text-memo.ts'
export { fencedToken, isFenced, newNonce, newToken, ownFence, parseFences, tokenSeq } from '../token.ts'
export type { ReadRecord } from '../tracking.ts'
export { ReadFrame } from '../tracking.ts'
export type { PreparedCommit } from '../transaction.ts'
export { Transaction } from '../transaction.ts'
export type { FillTicket } from '../value-cache.ts'
export type { AddedFields } from './added-fields.ts'
export { removeAdded } from './added-fields.ts'
export type { BindingOptions } from './binding.ts'
export { Binding } from './binding.ts'
export { classInstances } from './class-instances.ts'
export type { Conjunction } from './conjunctions.ts'
export { andConjunctions, combinations, referencingFilter } from './conjunctions.ts'
export { AdapterDisposedError, AdapterInactiveError, AdapterSetupError } from './errors.ts'
export { filteredRead } from './filtered-read.ts'
export { TransactionFrames } from './frames.ts'
export type { MethodWraps } from './patches.ts'
export { patchMethods, unpatched } from './patches.ts'
export { keyCombinations, primaryKeyOf } from './primary-keys.ts'
export type { RawSqlPolicy } from './raw-sql.ts'
export {
  isRawSqlPolicy,
  knownTables,
  kyselyTables,
  rawReadTables,
  rawSqlFacts,
  sqlTextOf,
  viewTables,
} from './raw-sql.ts'
export { fenceReads, framesOf, markUnsafe, reportReads, trackedQuery, wholeTables } from './read-frames.ts'
export type { PendingFill, ReadPlan, ResultLookup } from './result-cache.ts'
export { ResultCache, wholePlan } from './result-cache.ts'
export type { ForeignKeyFact, SchemaFacts } from './schema-graph.ts'
export { SchemaGraph } from './schema-graph.ts'
export type { SilentWriteFacts } from './silent-write.ts'
export { silentWrite } from './silent-write.ts'
export { StatementCache } from './statement-cache.ts'
export type { WriteFact } from './write-facts.ts'
export { bulkFact, bulkFacts, changesOf, compact } from './write-facts.ts'
