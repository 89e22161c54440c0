// The app API. Adapter and store authors: `@freshkey/core/adapter`.
export { cached } from './cached-decorator.ts'
export type { BulkChange, Change, RowChange, RowImage } from './change.ts'
export type { CollectionOptions, CollectionViews } from './collection.ts'
export { Collection, CollectionLoadError, CollectionNotReadyError } from './collection.ts'
export type { Dependency, DependencyLike, PrimaryKey, PrimaryKeyValue } from './dependency.ts'
export { dep, formatDependency, isDependency, parseDependency, toDependency } from './dependency.ts'
export type { Duration } from './durations.ts'
export {
  ConfigError,
  FreshkeyError,
  InvalidDependencyError,
  InvalidKeyPartError,
  LoaderTimeoutError,
  NotCachedError,
  SerializationError,
  StoreUnavailableError,
  TransactionStateError,
  UnknownScopeError,
} from './errors.ts'
export { etagOf } from './etag.ts'
export type { FreshkeyEvents, FreshkeyStats } from './events.ts'
export { channels } from './events.ts'
export type {
  CachedFunction,
  CachedOptions,
  FreshkeyOptions,
  Loader,
  TokenSnapshot,
  VerifyReport,
  WrapOptions,
} from './freshkey.ts'
export { createFreshkey, Freshkey } from './freshkey.ts'
export { MemoryStore, memoryStore } from './memory-store.ts'
export type { NearCacheOptions } from './near-cache.ts'
export type { FreshkeyLogger } from './reporter.ts'
export { Scope, scopesOf } from './scope-decorator.ts'
export type { JsonSerializerOptions, Serializer } from './serializer.ts'
export { createJsonSerializer, jsonSerializer } from './serializer.ts'
export type { Store } from './store.ts'
export type { TaggedJsonOptions, TaggedJsonValue, TaggedType } from './tagged-json.ts'
export { fromTaggedJson, toTaggedJson } from './tagged-json.ts'
export type { PreparedCommit } from './transaction.ts'
export { Transaction } from './transaction.ts'
