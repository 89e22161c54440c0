export { cached } from './cached-decorator.ts'
export type { BulkChange, Change, RowChange, RowImage } from './change.ts'
export type { CollectionOptions, CollectionViews } from './collection.ts'
export { Collection, CollectionLoadError, CollectionNotReadyError } from './collection.ts'
export type { Dependency, DependencyLike, PrimaryKey, PrimaryKeyValue } from './dependency.ts'
export {
  canonicalPk,
  dep,
  formatDependency,
  isDependency,
  parseDependency,
  toDependency,
} from './dependency.ts'
export { canonical, segment, sha256 } from './encoding.ts'
export {
  ConfigError,
  FreshkeyError,
  InvalidDependencyError,
  InvalidKeyPartError,
  NotCachedError,
  SerializationError,
  StoreUnavailableError,
  TransactionStateError,
  UnknownScopeError,
} from './errors.ts'
export type { FreshkeyEvents, FreshkeyStats } from './events.ts'
export { channels } from './events.ts'
export type {
  CachedFunction,
  CachedOptions,
  FreshkeyOptions,
  TokenSnapshot,
  WrapOptions,
} from './freshkey.ts'
export { createFreshkey, Freshkey } from './freshkey.ts'
export { Keyspace } from './keyspace.ts'
export { MemoryStore, memoryStore } from './memory-store.ts'
export type { EntityResolver } from './resolver.ts'
export { Scope, scopesOf } from './scope-decorator.ts'
export { scopeValue } from './scope-value.ts'
export type { JsonSerializerOptions, Serializer } from './serializer.ts'
export { createJsonSerializer, jsonSerializer } from './serializer.ts'
export type { SqlWriteTarget } from './sql-tables.ts'
export { sqlTablesRead, sqlTablesWritten, sqlWrites, sqlWriteTargets, stripSql } from './sql-tables.ts'
export type { Store, StoredEntry, StoreRead } from './store.ts'
export type { TaggedJsonOptions, TaggedJsonValue, TaggedType } from './tagged-json.ts'
export { fromTaggedJson, toTaggedJson } from './tagged-json.ts'
export { newNonce, newToken } from './token.ts'
export type { TransactionHost } from './transaction.ts'
export { Transaction } from './transaction.ts'
