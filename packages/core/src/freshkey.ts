import { AsyncLocalStorage } from 'node:async_hooks'
import { randomBytes } from 'node:crypto'
import { Bumper } from './bumper.ts'
import type { Change } from './change.ts'
import { Collection, type CollectionOptions } from './collection.ts'
import { type DependencyLike, toDependency } from './dependency.ts'
import { count, seconds } from './durations.ts'
import { boundKey, segment } from './encoding.ts'
import { ConfigError, FreshkeyError, InvalidKeyPartError, StoreUnavailableError } from './errors.ts'
import { etagOf } from './etag.ts'
import { type FreshkeyStats, newStats } from './events.ts'
import { KeyParts } from './key-parts.ts'
import { Keyspace } from './keyspace.ts'
import { type CachedFunction, type CachedOptions, cacheDecorator, type MemoHost, memoize } from './memoize.ts'
import { bumpMessage, NearCache, type NearCacheOptions } from './near-cache.ts'
import { Planner } from './planner.ts'
import { type FreshkeyLogger, Reporter } from './reporter.ts'
import type { EntityResolver } from './resolver.ts'
import { DeclaredSchemes, fieldLists } from './schemes.ts'
import { jsonSerializer, type Serializer } from './serializer.ts'
import type { Store, StoreCheck } from './store.ts'
import { Transaction, type TransactionHost } from './transaction.ts'
import { type Loader, type TokenSnapshot, ValueCache, type WrapOptions } from './value-cache.ts'

/** Options of {@link createFreshkey}. */
export interface FreshkeyOptions {
  /** Where tokens and values live: `memoryStore()` or `redisStore(...)`. */
  store: Store
  /** Isolates this app's keys from others on the same store. */
  namespace: string
  /** Version of the cached values' shape; values of other versions are never read. Default `'0'`. */
  version?: string
  /** tokenTtl: how long a token lives after its last read or bump (seconds or `'7d'`). Default 7 days. */
  tokenTtl?: number | string
  /** ttl: how long a cached value stays fresh by default (seconds or `'1h'`). Default 1 hour. */
  ttl?: number | string
  /** Value serializer. Default {@link jsonSerializer}. */
  serializer?: Serializer
  /** leaseMs: milliseconds one process may load a key while others wait for it. Default 5000. */
  leaseMs?: number
  /** How often a bump is tried before it falls back to deleting its keys. Default 3. */
  bumpAttempts?: number
  /**
   * fenceMs: milliseconds a commit's fence (sent in parallel with the database COMMIT) lasts. A
   * commit slower than half of it bumps again before it returns. Default 10000.
   */
  fenceMs?: number
  /** Keep hits in process memory too (opt-in; needs a store with pub/sub). See `docs/near-cache.md`. */
  nearCache?: NearCacheOptions
  /** Where problems are told (pino-compatible); `false` for silence. Default: `console`, once per distinct problem. */
  logger?: FreshkeyLogger | false
}

export type { CachedFunction, CachedOptions, Loader, TokenSnapshot, WrapOptions }

/** What `fk.verify()` found. */
export interface VerifyReport {
  /** True when nothing of severity `error` failed. */
  readonly ok: boolean
  readonly checks: readonly StoreCheck[]
}

const INTERNALS = Symbol.for('freshkey.internals')

/** The pieces adapters reach through `@freshkey/core/adapter` (not part of the app API). */
export interface FreshkeyInternals {
  readonly keys: Keyspace
  readonly parts: KeyParts
  readonly values: ValueCache
  readonly bumper: Bumper
  readonly planner: Planner
  readonly reporter: Reporter
  readonly sources: (() => Transaction | undefined)[]
  readonly resolveOptions: ValueCache['resolveOptions']
}

/** The internals of an instance (for `@freshkey/core/adapter`). */
export function internalsOf(fk: Freshkey): FreshkeyInternals {
  const internals = (fk as unknown as Record<symbol, FreshkeyInternals | undefined>)[INTERNALS]
  if (!internals) throw new ConfigError('not a freshkey instance (createFreshkey(...))')
  return internals
}

/** The freshkey instance: cache values, build keys, record changes. Create with {@link createFreshkey}. */
export class Freshkey {
  readonly namespace: string
  readonly version: string
  readonly store: Store
  readonly #keys: Keyspace
  readonly #declared = new DeclaredSchemes()
  readonly #parts: KeyParts
  readonly #planner: Planner
  readonly #stats = newStats()
  readonly #reporter: Reporter
  readonly #bumper: Bumper
  readonly #values: ValueCache
  readonly #near: NearCache | undefined
  readonly #txContext = new AsyncLocalStorage<Transaction>()
  readonly #txSources: (() => Transaction | undefined)[] = []
  readonly #host: TransactionHost
  readonly #memo: MemoHost
  readonly #tokenTtl: number
  readonly #fenceMs: number
  readonly #sender = randomBytes(6).toString('base64url')
  readonly #serializer: Serializer
  #nearStop: (() => void) | undefined

  constructor(options: FreshkeyOptions) {
    if (!options || typeof options !== 'object')
      throw new ConfigError('createFreshkey needs an options object')
    const { store, namespace } = options
    if (!store || typeof store.read !== 'function' || typeof store.bump !== 'function')
      throw new ConfigError('createFreshkey needs a `store` (memoryStore() or redisStore(...))')
    if (typeof namespace !== 'string' || namespace === '')
      throw new ConfigError('`namespace` must be a non-empty string')
    const version = options.version ?? '0'
    if (typeof version !== 'string' || version === '')
      throw new ConfigError('`version` must be a non-empty string')
    this.namespace = namespace
    this.version = version
    this.store = store
    this.#tokenTtl = Math.ceil(seconds(options.tokenTtl ?? '7d', 'tokenTtl'))
    const ttl = seconds(options.ttl ?? '1h', 'ttl')
    const leaseMs = count(options.leaseMs ?? 5000, 'leaseMs')
    const attempts = count(options.bumpAttempts ?? 3, 'bumpAttempts')
    this.#fenceMs = count(options.fenceMs ?? 10_000, 'fenceMs', 100)
    if (options.serializer !== undefined) {
      const s = options.serializer as Partial<Serializer>
      if (typeof s?.serialize !== 'function' || typeof s.deserialize !== 'function')
        throw new ConfigError('`serializer` needs serialize() and deserialize()')
    }
    const serializer = options.serializer ?? jsonSerializer
    this.#serializer = serializer
    if (
      options.logger !== undefined &&
      options.logger !== false &&
      typeof options.logger?.warn !== 'function'
    )
      throw new ConfigError('`logger` needs a warn() method (pino, console) or false')
    if (options.nearCache !== undefined) {
      const n = options.nearCache
      if (!n || typeof n !== 'object') throw new ConfigError('`nearCache` must be an object: { maxEntries }')
      count(n.maxEntries, 'nearCache.maxEntries')
      if (n.maxBytes !== undefined) count(n.maxBytes, 'nearCache.maxBytes')
      if (typeof store.subscribe !== 'function' || typeof store.publish !== 'function')
        throw new ConfigError('`nearCache` needs a store with pub/sub (publish and subscribe)')
      this.#near = new NearCache(n)
    }
    this.#keys = new Keyspace(namespace, version)
    this.#parts = new KeyParts(this.#keys, this.#declared)
    this.#planner = new Planner(this.#keys, this.#declared)
    this.#reporter = new Reporter(namespace, options.logger, this.#stats)
    this.#bumper = new Bumper({
      store,
      keys: this.#keys,
      planner: this.#planner,
      reporter: this.#reporter,
      stats: this.#stats,
      namespace,
      tokenTtl: this.#tokenTtl,
      fenceMs: this.#fenceMs,
      attempts,
      sender: this.#sender,
      near: this.#near,
    })
    this.#values = new ValueCache({
      store,
      keys: this.#keys,
      namespace,
      version,
      serializer,
      stats: this.#stats,
      reporter: this.#reporter,
      bumper: this.#bumper,
      planner: this.#planner,
      near: this.#near,
      ttl,
      tokenTtl: this.#tokenTtl,
      leaseMs,
      currentTransaction: () => this.currentTransaction(),
    })
    this.#host = {
      validate: (change) => this.#planner.validate(change),
      group: (table) => this.#keys.group(table),
      all: this.#keys.all,
      bump: (changes) => this.#bumper.bump(changes),
      fence: (changes) => this.#bumper.fence(changes),
    }
    this.#memo = {
      entryKey: (body) => this.#keys.value(body),
      declared: (deps, label) => this.#parts.declared(deps, label),
      call: (entryKey, declared, run, opts, force) =>
        this.#values.call(entryKey, declared, run, this.#values.resolveOptions(opts as WrapOptions), force),
      drop: async (entryKey) => {
        this.#values.forget(entryKey)
        await this.#guard('delete', () => this.store.delete([entryKey]))
      },
      peek: (entryKey) => this.#guard('read', () => this.#values.get(entryKey)),
    }
    Object.defineProperty(this, INTERNALS, {
      value: Object.freeze({
        keys: this.#keys,
        parts: this.#parts,
        values: this.#values,
        bumper: this.#bumper,
        planner: this.#planner,
        reporter: this.#reporter,
        sources: this.#txSources,
        resolveOptions: (o: WrapOptions) => this.#values.resolveOptions(o),
      } satisfies FreshkeyInternals),
    })
    if (this.#near) this.#startNear(this.#near, options.nearCache!)
  }

  // ---------------------------------------------------------------- values

  /**
   * Returns the cached value of `key`, or runs `loader` once and caches its result.
   *
   * `key` names what is cached: a string, or an array of parts (plain values, and dependencies
   * that also become dependencies). What the value depends on is found automatically — the rows
   * and filters the loader's ORM queries read, with an adapter installed — plus `options.deps`.
   * Tokens are read before the loader runs; the result is stored only if nothing it depends on
   * changed meanwhile. Store trouble never fails the call: the loader runs instead.
   *
   * Values come back as the serializer returns them (plain data, not class instances).
   */
  async wrap<T>(
    key: string | readonly unknown[],
    loader: Loader<T>,
    options: WrapOptions = {},
  ): Promise<Awaited<T>> {
    if (typeof loader !== 'function') throw new ConfigError('wrap needs a loader function')
    if (options === null || typeof options !== 'object' || Array.isArray(options))
      throw new ConfigError('wrap options must be an object: { ttl, deps }')
    let entryKey: string
    let declared = this.#parts.declared(options.deps)
    if (typeof key === 'string') entryKey = this.#userKey(key)
    else if (Array.isArray(key)) {
      const resolved = this.#parts.resolve(key, 'key')
      if (!resolved.named)
        throw new ConfigError(
          'wrap: a key made of dependencies only does not say what is cached (a list and a count would share it); ' +
            "add a name: fk.wrap(['articles:list', ...deps], load) or fk.wrap('articles:list', load, { deps })",
        )
      entryKey = this.#keys.value(`w:${boundKey(resolved.body)}`)
      // resolve() returns a new, deduplicated array: with no declared deps it is the whole list.
      if (declared.length === 0) declared = resolved.tokenKeys
      else for (const k of resolved.tokenKeys) if (!declared.includes(k)) declared.push(k)
    } else throw new ConfigError('wrap needs a key: a string or an array of key parts')
    const resolvedOptions = this.#values.resolveOptions(options)
    // Awaited here: returning the promise from an async function costs two more microtask turns.
    return await this.#values.call<Awaited<T>>(entryKey, declared, loader, resolvedOptions)
  }

  /** The fresh value stored under a user key, or `undefined` when absent or any dependency moved. */
  async get<T = unknown>(key: string): Promise<T | undefined> {
    const found = await this.#guard('read', () => this.#values.get(this.#userKey(key)))
    return found.found ? (found.value as T) : undefined
  }

  /** True when a fresh value is stored under the key. */
  async has(key: string): Promise<boolean> {
    return (await this.#guard('read', () => this.#values.get(this.#userKey(key)))).found
  }

  /**
   * Stores a value under a user key with declared dependencies. Pass `snapshot` (from
   * `fk.snapshot(deps)`, taken before the value was loaded) so a write that committed meanwhile
   * makes it not store; without one, the caller vouches that the value is current. Resolves to
   * false when nothing was stored (a dependency moved, or inside a transaction).
   */
  async set(
    key: string,
    value: unknown,
    options: { deps?: unknown; ttl?: number | string; snapshot?: TokenSnapshot } = {},
  ): Promise<boolean> {
    const entryKey = this.#userKey(key)
    const declared = this.#parts.declared(options.deps)
    const resolved = this.#values.resolveOptions({
      ...(options.ttl !== undefined ? { ttl: options.ttl } : {}),
    })
    this.#values.forget(entryKey)
    return this.#guard('write', () => this.#values.set(entryKey, value, declared, options.snapshot, resolved))
  }

  /** Deletes the value under a user key. */
  async delete(key: string): Promise<void> {
    const entryKey = this.#userKey(key)
    this.#values.forget(entryKey)
    await this.#guard('delete', () => this.store.delete([entryKey]))
  }

  /** Reads the current tokens of `deps` before a load, to store its result later with `set({ snapshot })`. */
  async snapshot(deps: unknown): Promise<TokenSnapshot> {
    const keys = this.#parts.declared(deps)
    const read = await this.#guard('tokens', () => this.store.tokens(keys, this.#tokenTtl))
    return { keys, tokens: read.tokens, generation: read.generation }
  }

  /**
   * Memoizes `fn`: keys from `name` and the canonical arguments, dependencies found automatically
   * in the ORM queries it runs plus `options.deps(...args)`, single flight and leases like `wrap`.
   */
  cached<A extends unknown[], R>(
    fn: (...args: A) => R,
    options: CachedOptions<A> = {},
  ): CachedFunction<A, R> {
    return memoize(this.#memo, fn, options, () => options.name ?? fn.name)
  }

  /**
   * A method decorator that memoizes per class (not per instance), standard (TypeScript 5) or
   * legacy form. The key name is `Class.method` unless `options.name` is given.
   */
  cache<A extends unknown[]>(options: CachedOptions<A> = {}) {
    return cacheDecorator(() => this.#memo, options)
  }

  /**
   * An in-memory map every process holds, reloaded when any of `deps` changes: one process loads
   * and publishes the snapshot through the store, the others take it from there.
   */
  collection<K, V, Views extends Record<string, (items: ReadonlyMap<K, V>) => unknown> = {}>(
    options: CollectionOptions<K, V, Views>,
  ): Collection<K, V, Views> {
    return new Collection(this, options)
  }

  /** The value serializer (collections use it for snapshots). */
  get serializer(): Serializer {
    return this.#serializer
  }

  // ---------------------------------------------------------------- keys

  /**
   * A cache key that changes whenever any dependency among `parts` is bumped. Parts are
   * dependencies (or `table#pk` strings), entities and entity classes (through registered
   * resolvers) and plain values. One store round trip.
   */
  async keyFor(...parts: unknown[]): Promise<string> {
    const { body, tokenKeys } = this.#parts.resolve(parts)
    // A key with no dependency at all still changes with `invalidateAll()`.
    if (tokenKeys.length === 0) tokenKeys.push(this.#keys.epoch)
    const read = await this.#guard('tokens', () => this.store.tokens(tokenKeys, this.#tokenTtl))
    // Tokens of a server the store cannot name yet are trusted by nobody: a key no one else gets.
    const generation = read.generation === '' ? `?${randomBytes(9).toString('base64url')}` : read.generation
    return `${this.#keys.versionPrefix}k:${boundKey(`${body}|${read.tokens.join('.')}|${generation}`)}`
  }

  /** A short opaque ETag (quoted) for these parts: changes whenever `keyFor(...parts)` does. */
  async etag(...parts: unknown[]): Promise<string> {
    return etagOf(await this.keyFor(...parts))
  }

  /** Token keys that these parts read (for diagnostics and adapters). */
  tokenKeysOf(parts: readonly unknown[]): string[] {
    return this.#parts.resolve(parts).tokenKeys
  }

  /** Internal key names (for collections, adapters and tests). */
  get keyspace(): Keyspace {
    return this.#keys
  }

  // ---------------------------------------------------------------- scopes

  /**
   * Declares scopes: one field list (`['published', 'category']`) or several. `target` is a table
   * name or an entity class (resolved once an adapter knows it). Optional: cached reads register
   * the filters they use by themselves; declare scopes to use `dep.scope(...)` by hand.
   */
  defineScope(target: string | object, fields: readonly string[] | readonly (readonly string[])[]): void {
    if (typeof target === 'string' && target === '')
      throw new ConfigError('a table name must be a non-empty string')
    if (
      typeof target !== 'string' &&
      typeof target !== 'function' &&
      (typeof target !== 'object' || target === null)
    )
      throw new ConfigError('defineScope needs a table name or an entity class')
    if (!Array.isArray(fields))
      throw new ConfigError('defineScope needs a field list or a list of field lists')
    const lists = fieldLists(fields)
    if (typeof target === 'string') this.#declared.define(target, lists)
    else this.#parts.defineScope(target, lists)
  }

  /** Union of the declared scope fields of a table (empty when none). */
  scopedFields(table: string): string[] {
    return [...new Set(this.#declared.lists(table).flat())].sort()
  }

  // ---------------------------------------------------------------- changes

  /** Bumps the dependencies of these changes now, in one store call (a write that has already committed). */
  async changed(...changes: Change[]): Promise<void> {
    for (const c of changes) this.#planner.validate(c)
    if (changes.length > 0) await this.#bumper.bump(changes)
  }

  /**
   * Bumps exactly these dependencies: a row, a tag, a scope condition, everything-changes (`dep.all()`).
   * A table dependency invalidates the whole table: its rows and scopes too (use it after raw SQL).
   */
  async invalidate(...deps: DependencyLike[]): Promise<void> {
    const keys = new Set<string>()
    const k = this.#keys
    for (const like of deps) {
      const d = toDependency(like)
      if (d.type === 'table') keys.add(k.table(d.table)).add(k.bulk(d.table))
      else if (d.type === 'scope') {
        for (const key of this.#parts.scopeConditions(this.#parts.scopeTable(d.target), d.where).conds)
          keys.add(key)
      } else {
        const out: string[] = []
        this.#parts.depKeys(d, out)
        keys.add(out[0]!)
      }
    }
    if (keys.size > 0) await this.#bumper.bump([], keys)
  }

  /**
   * Invalidates every value of this namespace (all versions): every token is renewed (commits in
   * flight keep their fences), and values are deleted — those with no dependency at all too. Costs
   * a scan of the store: meant for operators and tests, not for the request path.
   */
  async invalidateAll(): Promise<void> {
    this.#near?.clear()
    try {
      await this.store.renewPrefixes(this.#keys.tokenPrefixes, this.#tokenTtl)
      await this.store.deletePrefix(this.#keys.valuesPrefix)
    } catch (error) {
      this.#reporter.store('invalidateAll', error)
      throw error instanceof FreshkeyError
        ? error
        : new StoreUnavailableError(`invalidateAll failed: ${(error as Error)?.message}`, { cause: error })
    }
    this.store.publish?.(this.#keys.bumps, bumpMessage(this.#sender, [], true)).catch(() => {})
  }

  /** A change buffer, bumped once by its `commit()`; `savepoint()` nests. */
  transaction(): Transaction {
    return new Transaction(this.#host)
  }

  /** Runs `fn` with `tx` as the current transaction of its async context (see `currentTransaction`). */
  runInTransaction<T>(tx: Transaction, fn: () => T): T {
    return this.#txContext.run(tx, fn)
  }

  /** The open transaction of the calling async context, if any. */
  currentTransaction(): Transaction | undefined {
    const own = this.#txContext.getStore()
    if (own && own.state === 'open') return own
    for (const source of this.#txSources) {
      const tx = source()
      if (tx && tx.state === 'open') return tx
    }
    return undefined
  }

  // ---------------------------------------------------------------- housekeeping

  /**
   * Checks the store (reachable, permissions on keys, scripts and channels, eviction policy) and
   * this instance's options. Problems are logged once; `ok` is false when one makes freshkey
   * unable to keep values fresh.
   */
  async verify(): Promise<VerifyReport> {
    const checks: StoreCheck[] = []
    try {
      checks.push(...((await this.store.verify?.()) ?? []))
    } catch (error) {
      checks.push({
        name: 'reachable',
        ok: false,
        severity: 'error',
        message: String((error as Error)?.message ?? error),
      })
    }
    if (this.#near && !this.#near.live)
      checks.push({
        name: 'near-cache',
        ok: false,
        severity: 'warning',
        message: 'the near cache is not receiving bump messages yet: it serves nothing until it does',
      })
    for (const c of checks)
      if (!c.ok)
        this.#reporter.problem(`verify:${c.name}`, new Error(c.message ?? c.name), `verify: ${c.name}`)
    return { ok: checks.every((c) => c.ok || c.severity === 'warning'), checks }
  }

  /**
   * Deletes other versions' values (SCAN + UNLINK in batches on Redis). `keepVersions: n` keeps the
   * current version and the n-1 most recently registered others; `version` deletes exactly that one.
   */
  async purge(
    options: { keepVersions?: number; version?: string } = {},
  ): Promise<{ versions: string[]; deleted: number }> {
    const known = await this.#guard('register', () => this.store.register(this.#keys.versions, this.version))
    let victims: string[]
    if (options.version !== undefined) {
      if (options.version === this.version) throw new ConfigError('purge: cannot purge the running version')
      victims = [options.version]
    } else {
      const keep = Math.max(1, Math.floor(options.keepVersions ?? 1))
      const others = known.filter((v) => v !== this.version)
      victims = others.slice(0, Math.max(0, others.length - (keep - 1)))
    }
    let deleted = 0
    for (const v of victims) {
      deleted += await this.#guard('purge', () => this.store.deletePrefix(this.#keys.versionPrefixOf(v)))
      await this.#guard('purge', () => this.store.unregister(this.#keys.versions, v))
    }
    return { versions: victims, deleted }
  }

  /** A copy of the counters, and the near cache's drop delays (bump → dropped here) when it is on. */
  stats(): FreshkeyStats & {
    nearCache?: {
      size: number
      live: boolean
      lagMs: { p50: number; p99: number; max: number; count: number }
    }
  } {
    const base = { ...this.#stats }
    if (!this.#near) return base
    const lags = [...this.#near.lags].sort((a, b) => a - b)
    const at = (q: number) =>
      lags.length ? lags[Math.min(lags.length - 1, Math.floor(q * lags.length))]! : 0
    return {
      ...base,
      nearCache: {
        size: this.#near.size,
        live: this.#near.live,
        lagMs: { p50: at(0.5), p99: at(0.99), max: lags.at(-1) ?? 0, count: lags.length },
      },
    }
  }

  /** Resolves when background work (stale-while-revalidate refreshes, fence lifts) has settled. */
  async idle(): Promise<void> {
    await this.#values.idle()
    await this.#bumper.idle()
  }

  /** Stops background work and pays owed bumps. Does not close the store (it may be shared). */
  async close(): Promise<void> {
    await this.idle()
    await this.#bumper.close()
    this.#nearStop?.()
    this.#near?.setLive(false)
  }

  // ---------------------------------------------------------------- internals

  #userKey(key: string): string {
    if (typeof key !== 'string' || key === '')
      throw new InvalidKeyPartError('key', 'a cache key must be a non-empty string')
    return this.#keys.value(`u:${boundKey(segment(key))}`)
  }

  async #guard<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      if (this.#bumper.owing) await this.#bumper.pay().catch(() => {})
      return await run()
    } catch (error) {
      if (error instanceof FreshkeyError && !(error instanceof StoreUnavailableError)) throw error
      this.#reporter.store(operation, error)
      throw error instanceof StoreUnavailableError
        ? error
        : new StoreUnavailableError(`store ${operation} failed: ${(error as Error)?.message ?? error}`, {
            cause: error,
          })
    }
  }

  #startNear(near: NearCache, options: NearCacheOptions): void {
    const store = this.store
    const heartbeat = count(options.heartbeatMs ?? 1000, 'nearCache.heartbeatMs', 10)
    const maxLag = count(options.maxLagMs ?? 2000, 'nearCache.maxLagMs', 20)
    let lastPing = 0
    let subscribed = false
    let unsubscribe: (() => Promise<void>) | undefined
    const channel = this.#keys.bumps
    const onMessage = (message: string) => {
      if (near.message(message, this.#sender).ping) {
        lastPing = Date.now()
        if (subscribed && !near.live) near.setLive(true)
      }
    }
    const onState = (live: boolean) => {
      subscribed = live
      if (!live) near.setLive(false)
    }
    const subscribe = () =>
      store.subscribe!(channel, onMessage, onState).then(
        (off) => {
          unsubscribe = off
          subscribed = true
        },
        (error) => this.#reporter.store('subscribe', error),
      )
    subscribe()
    const timer = setInterval(
      () => {
        if (!unsubscribe) subscribe()
        // Our own ping proves messages flow; one that is late empties the near cache until they do again.
        if (near.live && Date.now() - lastPing > maxLag) near.setLive(false)
        store.publish!(channel, bumpMessage(this.#sender, [])).catch(() => near.setLive(false))
      },
      Math.min(heartbeat, maxLag / 2),
    )
    timer.unref()
    store.publish!(channel, bumpMessage(this.#sender, [])).catch(() => {})
    this.#nearStop = () => {
      clearInterval(timer)
      unsubscribe?.().catch(() => {})
    }
  }
}

/** Creates a freshkey instance. Throws `ConfigError` at once for bad options. */
export function createFreshkey(options: FreshkeyOptions): Freshkey {
  return new Freshkey(options)
}

/** Registers an entity resolver (adapters: see `@freshkey/core/adapter`). Returns an unregister function. */
export function addResolver(fk: Freshkey, resolver: EntityResolver): () => void {
  const { parts } = internalsOf(fk)
  parts.resolvers.push(resolver)
  parts.refresh()
  return () => {
    const i = parts.resolvers.indexOf(resolver)
    if (i >= 0) parts.resolvers.splice(i, 1)
  }
}
