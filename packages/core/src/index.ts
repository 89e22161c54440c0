export { createFreshkey, Freshkey } from './freshkey.ts'
export { dep, canonicalPk, formatDependency, isDependency, parseDependency, toDependency } from './dependency.ts'
export { MemoryStore, memoryStore } from './memory-store.ts'
export { Transaction } from './transaction.ts'
export { Collection } from './collection.ts'
export { Scope, scopesOf } from './scope-decorator.ts'
export { scopeValue } from './scope-value.ts'
export { jsonSerializer } from './serializer.ts'
export { channels } from './events.ts'
export { Keyspace } from './keyspace.ts'
export { newNonce, newToken } from './token.ts'
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

export type {
  CachedFunction,
  CachedOptions,
  FreshkeyOptions,
  TokenSnapshot,
  WrapOptions,
} from './freshkey.ts'
export type { Dependency, DependencyLike, PrimaryKey, PrimaryKeyValue } from './dependency.ts'
export type { BulkChange, Change, RowChange, RowImage } from './change.ts'
export type { EntityResolver } from './resolver.ts'
export type { Store, StoredEntry, StoreRead } from './store.ts'
export type { Serializer } from './serializer.ts'
export type { FreshkeyEvents, FreshkeyStats } from './events.ts'
export type { TransactionHost } from './transaction.ts'
export type { CollectionOptions } from './collection.ts'
