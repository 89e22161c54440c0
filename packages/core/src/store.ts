/** A cache entry as a store holds it: what it was computed under, and the serialized value. */
export interface StoredEntry {
  /** Token keys the value depends on. */
  readonly tokenKeys: readonly string[]
  /** The tokens those keys held before the value was loaded. */
  readonly tokens: readonly string[]
  /** Epoch milliseconds after which the value is stale (still servable within stale-while-revalidate). */
  readonly freshUntil: number
  /** The serialized value. */
  readonly payload: string
}

/** What {@link Store.read} returns. */
export interface StoreRead {
  /** Current token of each requested token key, created fresh where missing. */
  readonly tokens: string[]
  /** The entry under the key, if any (valid or not). */
  readonly entry?: StoredEntry
  /** True when the entry exists and every token it was written under is still current. */
  readonly valid: boolean
}

/**
 * What freshkey needs from a backing store. Keys are passed without the store's own prefix.
 * Every method is one round trip; failures reject with `StoreUnavailableError`.
 */
export interface Store {
  /** Get-or-create the token of each key (a missing token is created fresh and random); refreshes TTLs. ttl: seconds. */
  tokens(keys: readonly string[], ttl: number): Promise<string[]>
  /**
   * Replaces the token of each key with a new random one. ttl: seconds. With `channel`, publishes
   * the bumped keys (newline-separated) to it in the same round trip, so other processes notice.
   */
  bump(keys: readonly string[], ttl: number, channel?: string): Promise<void>
  /** Reads an entry and get-or-creates `tokenKeys`, checking the entry against its own tokens. ttl: seconds. */
  read(entryKey: string, tokenKeys: readonly string[], ttl: number): Promise<StoreRead>
  /** Compare-and-set: stores the entry only if every `entry.tokens` is still current. ttlMs: milliseconds. */
  write(entryKey: string, entry: StoredEntry, ttlMs: number): Promise<boolean>
  /** Deletes keys (missing keys are fine). */
  delete(keys: readonly string[]): Promise<void>
  /** Takes a lease for `ms` milliseconds; resolves to an owner id, or `undefined` when someone else holds it. */
  acquire(key: string, ms: number): Promise<string | undefined>
  /** Releases a lease if `owner` still holds it. */
  release(key: string, owner: string): Promise<void>
  /** Deletes every key that starts with `prefix`, in batches; resolves to how many were deleted. */
  deletePrefix(prefix: string): Promise<number>
  /** Reads a plain string value. */
  getRaw(key: string): Promise<string | undefined>
  /** Writes a plain string value. ttlMs: milliseconds, none when omitted. */
  setRaw(key: string, value: string, ttlMs?: number): Promise<void>
  /** Adds `member` to the ordered set `key` if absent; resolves to all members, oldest first. */
  register(key: string, member: string): Promise<string[]>
  /** Removes `member` from the ordered set `key`. */
  unregister(key: string, member: string): Promise<void>
  /** Publishes a message to every process. Absent: no cross-process notification (polling only). */
  publish?(channel: string, message: string): Promise<void>
  /** Subscribes to a channel; resolves to an unsubscribe function. Absent: polling only. */
  subscribe?(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>
  /** Releases connections the store opened itself. */
  close(): Promise<void>
}
