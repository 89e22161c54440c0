/**
 * The contract between freshkey and a backing store (`memoryStore()`, `redisStore()`), version 2.
 *
 * Keys are passed without the store's own prefix. A key's hash tag (the text between its first `{`
 * and the next `}`) names its group: keys of one group must be updated atomically together (one
 * Redis Cluster slot); keys of different groups never need to be. Every method is one round trip
 * of latency (work on several groups runs in parallel); failures reject with
 * `StoreUnavailableError`.
 *
 * Tokens are opaque strings. A token that starts with `~` is *fenced*: a write is committing under
 * it, so no value may be stored under it (see `docs/design.md`, "Commits that do not wait").
 * Fences stack (`~<deadline>.<deadline>…~<token>`, see `fencedToken`): each ends at its deadline or
 * its own lift, and the key is storable again once none is left.
 */
export interface Store {
  /**
   * Get-or-create the token of each key (missing ones created fresh and random). ttl: seconds, for
   * tokens created or refreshed; a refresh extends a token's life, never shortens it, and never
   * touches a fenced token (it keeps its own short life).
   */
  tokens(keys: readonly string[], ttl: number): Promise<TokenRead>
  /** Current values of bump counters (`'0'` when missing; never created). */
  counters(keys: readonly string[]): Promise<string[]>
  /** Reads an entry and the current tokens it needs, taking its load lease when asked and it is not a fresh hit. */
  read(request: ReadRequest): Promise<ReadResult>
  /** Compare-and-set write of an entry (see {@link WriteRequest}). */
  write(request: WriteRequest): Promise<boolean>
  /** Replaces tokens with new random ones (fenced ones when `fenceMs` is set) and reports scheme sets that moved. */
  bump(request: BumpRequest): Promise<BumpResult>
  /** Ends the caller's own fence on each key (see {@link LiftRequest}). */
  lift(request: LiftRequest): Promise<void>
  /** Deletes keys (tokens or values); missing keys are fine. Must work when the server refuses writes for memory (UNLINK does). */
  delete(keys: readonly string[]): Promise<void>
  /** The scheme sets stored for these tables (see {@link SchemeSet}). */
  schemes(locations: readonly SchemeLocation[]): Promise<SchemeSet[]>
  /**
   * `invalidateAll`: replaces every unfenced token under these prefixes with a fresh one,
   * incrementing the existing bump counter of each group it renews (the counter of group `G` is
   * `{G}:n`); a fenced token is left to its commit, which lifts it. Scheme keys (`…}:q`,
   * `…}:qv`) and counters (`…}:n`) are not tokens and stay. ttl: seconds. Resolves to how many.
   */
  renewPrefixes(prefixes: readonly string[], ttl: number): Promise<number>
  /** Deletes every key that starts with `prefix`, in batches; resolves to how many were deleted. */
  deletePrefix(prefix: string): Promise<number>
  /** Takes a lease for `ms` milliseconds; resolves to an owner id, or `undefined` when someone else holds it. */
  acquire(key: string, ms: number): Promise<string | undefined>
  /** Releases a lease if `owner` still holds it. */
  release(key: string, owner: string): Promise<void>
  /** Reads a plain string value. */
  getRaw(key: string): Promise<string | undefined>
  /** Writes a plain string value. ttlMs: milliseconds, none when omitted. */
  setRaw(key: string, value: string, ttlMs?: number): Promise<void>
  /** Adds `member` to the ordered set `key` if absent; resolves to all members, oldest first. */
  register(key: string, member: string): Promise<string[]>
  /** Removes `member` from the ordered set `key`. */
  unregister(key: string, member: string): Promise<void>
  /** Publishes a message to every process, best effort. Absent: no cross-process notification. */
  publish?(channel: string, message: string): Promise<void>
  /**
   * Subscribes to a channel; resolves to an unsubscribe function. `onState(false)` tells that
   * messages may be lost from now on (disconnect, failover), `onState(true)` that they flow again.
   * Absent: polling only, and no near cache.
   */
  subscribe?(
    channel: string,
    onMessage: (message: string) => void,
    onState?: (live: boolean) => void,
  ): Promise<() => Promise<void>>
  /**
   * The generation the store trusts right now without a round trip (it changes on reconnects to
   * another server); `''` while it is not known yet (trust nothing). A commit compares it with its
   * fence's generation. Absent: the store has a single memory that never changes.
   */
  generation?(): string | undefined
  /** Startup checks: reachability, permissions, configuration. Absent: nothing to check. */
  verify?(): Promise<StoreCheck[]>
  /** Releases connections the store opened itself. */
  close(): Promise<void>
}

/** What {@link Store.tokens} returns. */
export interface TokenRead {
  readonly tokens: string[]
  /** The generation of the server that answered (see {@link ReadResult.generation}). */
  readonly generation: string
}

/** A cache entry as a store holds it. */
export interface StoredEntry {
  /** Token keys the value depends on. */
  readonly keys: readonly string[]
  /** Their tokens when the value was stored; the entry is valid while every one is still current. */
  readonly tokens: readonly string[]
  /** Bump counters the next load must read first (of the tables the last load read): not part of validity. */
  readonly fences: readonly string[]
  /** Epoch milliseconds after which the value is stale (still servable within stale-while-revalidate). */
  readonly freshUntil: number
  /** The generation the tokens were read under; an entry of another generation is never valid. */
  readonly generation: string
  /** The serialized value. */
  readonly payload: string
}

/** What {@link Store.read} is asked. */
export interface ReadRequest {
  /** The entry's key. */
  readonly entry: string
  /** Token keys to read besides the entry's own (declared dependencies); get-or-create. */
  readonly keys: readonly string[]
  /** Bump counters to read besides the entry's fences (`'0'` when missing; never created). */
  readonly counters?: readonly string[]
  /** ttl: seconds, for tokens created or refreshed. */
  readonly ttl: number
  /**
   * With `leaseMs`: the lease key, taken (`SET NX PX`) when the entry is missing, stale or invalid
   * and nobody holds it. Never taken while the generation is `''` (nothing loaded then is stored).
   */
  readonly lease?: string
  /** leaseMs: milliseconds the lease lasts. */
  readonly leaseMs?: number
}

/** What {@link Store.read} returns. */
export interface ReadResult {
  /** The entry, if any (valid or not). */
  readonly entry?: StoredEntry
  /** Current tokens of the requested keys and of the entry's keys; current values of the requested counters and of the entry's fences. */
  readonly current: ReadonlyMap<string, string>
  /**
   * Identifies the server memory the tokens came from: it changes when a server restarts or a
   * replica is promoted, so values and keys read under another generation are never trusted.
   * `''` when the store cannot tell (reconnecting): nothing read then is trusted or stored.
   */
  readonly generation: string
  /** The lease owner id when this call took the lease. */
  readonly lease?: string
}

/** A scheme registration that rides on a {@link WriteRequest}. */
export interface SchemeRecord {
  /** The table's scheme hash key. */
  readonly hash: string
  /** The table's scheme version key (incremented when a scheme is added). */
  readonly version: string
  /** Scheme id (field of the hash). */
  readonly id: string
  /** Scheme description (value of the hash field), opaque to the store. */
  readonly meta: string
}

/**
 * What {@link Store.write} is asked: store `payload` under `entry` only if
 * 1. every `expect` key still holds its expected token and none is fenced (read before the load),
 * 2. every other key of `keys` (dependencies discovered during the load) currently holds an
 *    unfenced token (created fresh when missing) whose bump counter (`…@<n>`, 0 when absent) is
 *    not above the value `counters` gives for its group — it was not bumped since the load began;
 *    a discovered key of a group without a counter in `counters` refuses the write;
 *    those current tokens go into the entry,
 * 3. every scheme record that is not in its hash yet, or was registered under a counter above the
 *    one `counters` gives for its group, finds that group's counter unchanged (a writer may have
 *    planned without the scheme),
 * 4. the server's generation is still `generation`.
 * The scheme records are added in the same atomic step (remembering the counter they were
 * registered under), and the lease, if given, is released whether or not the entry was stored.
 * Resolves to true when stored.
 */
export interface WriteRequest {
  readonly entry: string
  readonly expect: { readonly keys: readonly string[]; readonly tokens: readonly string[] }
  /** Bump counters read before the load, one per table group it read. */
  readonly counters?: { readonly keys: readonly string[]; readonly values: readonly string[] }
  readonly keys: readonly string[]
  readonly fences: readonly string[]
  readonly generation: string
  /** Epoch milliseconds. */
  readonly freshUntil: number
  readonly payload: string
  /** ttlMs: milliseconds the entry lives (fresh plus stale-while-revalidate). */
  readonly ttlMs: number
  /** ttl: seconds, for tokens created here. */
  readonly tokenTtl: number
  readonly schemes?: readonly SchemeRecord[]
  readonly lease?: { readonly key: string; readonly owner: string }
}

/** Where a table's schemes live. */
export interface SchemeLocation {
  readonly hash: string
  readonly version: string
}

/** The schemes of one table as stored. */
export interface SchemeSet extends SchemeLocation {
  /** Current version ('0' when none was ever registered). */
  readonly current: string
  /** Scheme id → description. */
  readonly schemes: ReadonlyMap<string, string>
}

/** What {@link Store.bump} is asked. */
export interface BumpRequest {
  /** Token keys to replace. */
  readonly keys: readonly string[]
  /**
   * Bump counters to increment once each (never expiring); the new tokens of keys in a counter's
   * group end with `@<its new value>`.
   */
  readonly counters?: readonly string[]
  /** ttl: seconds for unfenced tokens. */
  readonly ttl: number
  /**
   * fenceMs: when set, the new tokens are fenced: the key's live fences plus a new one ending this
   * many milliseconds from now, last (`~<deadline>.<deadline>…~…`). Without it, a key that is
   * fenced stays fenced (same live fences) under its new token: a bump never ends another
   * commit's fence.
   */
  readonly fenceMs?: number
  /** Scheme versions the caller planned with; sets whose stored version differs come back in the result. */
  readonly schemes?: readonly (SchemeLocation & { readonly known: string })[]
  /** Channel to publish the bumped keys on (newline-separated), best effort and never failing the bump. */
  readonly channel?: string
  /** Message to publish instead of the bare key list (the near cache adds a sender and a timestamp). */
  readonly message?: string
}

/** What {@link Store.bump} returns. */
export interface BumpResult {
  /** The tokens written, in key order. */
  readonly tokens: readonly string[]
  readonly generation: string
  /** Scheme sets whose version moved since the caller's `known`. */
  readonly schemes: readonly SchemeSet[]
}

/**
 * What {@link Store.lift} is asked: end the caller's own fence on each key (its commit returned).
 * A key still fenced by other commits stays fenced, expiring with the latest of theirs; a key with
 * no fence left gets a fresh unfenced token, incrementing the bump counter of its group (one of
 * `counters`) like a bump does. A fence that already ended (deadline passed) ends nothing else;
 * unfenced keys are left alone. A store may hold a lift back briefly to send it with its next
 * command, but must apply it before any read it is asked for afterwards.
 */
export interface LiftRequest {
  readonly keys: readonly string[]
  /** The fenced token the caller's bump wrote to each key (its last deadline is the caller's fence). */
  readonly tokens: readonly string[]
  /** Seconds, for the fresh tokens. */
  readonly ttl: number
  /** Bump counters of the keys' groups. */
  readonly counters?: readonly string[]
}

/** One result of {@link Store.verify}. */
export interface StoreCheck {
  /** What was checked, e.g. `reachable`, `acl:keys`, `acl:channels`, `maxmemory-policy`. */
  readonly name: string
  readonly ok: boolean
  /** What to do about a failed check. */
  readonly message?: string
  /** `error`: freshkey cannot work correctly; `warning`: it works, with a cost said in `message`. */
  readonly severity?: 'error' | 'warning'
}
