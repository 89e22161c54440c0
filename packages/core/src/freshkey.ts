import { AsyncLocalStorage } from 'node:async_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Change } from './change.ts'
import { Collection, type CollectionOptions } from './collection.ts'
import {
  ALKEY,
  type Dependency,
  type DependencyLike,
  dep,
  isDependency,
  parseDependency,
  toDependency,
} from './dependency.ts'
import { boundKey, canonical, segment } from './encoding.ts'
import {
  ConfigError,
  FreshkeyError,
  InvalidDependencyError,
  InvalidKeyPartError,
  NotCachedError,
  StoreUnavailableError,
} from './errors.ts'
import { emit, type FreshkeyStats, newStats } from './events.ts'
import { Keyspace } from './keyspace.ts'
import type { EntityResolver } from './resolver.ts'
import { scopesOf } from './scope-decorator.ts'
import { ScopeRegistry } from './scope-registry.ts'
import { whereKey } from './scope-value.ts'
import { jsonSerializer, type Serializer } from './serializer.ts'
import type { Store, StoredEntry, StoreRead } from './store.ts'
import { Transaction, type TransactionHost } from './transaction.ts'

/** Options of {@link createFreshkey}. */
export interface FreshkeyOptions {
  /** Where tokens and values live: `memoryStore()` or `redisStore(...)`. */
  store: Store
  /** Isolates this app's keys from others on the same store. */
  namespace: string
  /** Version of the cached values' shape; values of other versions are never read. Default `'0'`. */
  version?: string
  /** tokenTtl: seconds a token lives after its last read or bump. Default 7 days. */
  tokenTtl?: number
  /** ttl: default seconds a cached value stays fresh. Default 3600. */
  ttl?: number
  /** Value serializer. Default {@link jsonSerializer}. */
  serializer?: Serializer
  /** lease: milliseconds one process may load a key while others wait for it. Default 5000. */
  leaseMs?: number
  /** How often a bump is tried before it widens to an epoch bump. Default 3. */
  bumpAttempts?: number
}

/** Options of `fk.wrap`. */
export interface WrapOptions {
  /** ttl: seconds the value stays fresh. Default: the instance's `ttl`. */
  ttl?: number
  /** staleWhileRevalidate: seconds after it went stale (expired or invalidated) that the previous value may be served while one refresh runs. Default 0. */
  staleWhileRevalidate?: number
  /** Store under this user key (readable with `fk.get(key)`) instead of a key derived from the deps. */
  key?: string
  /** Cache a result of `undefined` (not cached by default). */
  cacheUndefined?: boolean
}

/** Tokens read before a load, to compare-and-set the result later (see `fk.snapshot`). */
export interface TokenSnapshot {
  readonly tokenKeys: readonly string[]
  readonly tokens: readonly string[]
}

/** Options of `fk.cached` and the `@fk.cache()` decorator. */
export interface CachedOptions<A extends unknown[]> {
  /** Readable key prefix. Default: the function's name (required for anonymous functions). */
  name?: string
  /** ttl: seconds. */
  ttl?: number
  /** staleWhileRevalidate: seconds. */
  staleWhileRevalidate?: number
  /** Dependencies of one call. Without it, entries change only by ttl, `invalidate` or `refresh`. */
  deps?: (...args: A) => readonly unknown[]
  /** Cache a result of `undefined`. */
  cacheUndefined?: boolean
}

/** A memoized function: the same call signature plus cache controls. */
export interface CachedFunction<A extends unknown[], R> {
  (...args: A): Promise<Awaited<R>>
  /** Drops the cached value of these arguments. */
  invalidate(...args: A): Promise<void>
  /** Recomputes and stores the value of these arguments now. */
  refresh(...args: A): Promise<Awaited<R>>
  /** The cached fresh value of these arguments; throws `NotCachedError` when there is none. */
  peek(...args: A): Promise<Awaited<R>>
  /** The store key of these arguments. */
  keyOf(...args: A): string
}

interface Resolved {
  /** Injective text of the parts, without tokens. */
  body: string
  /** Token keys to read, epoch first, deduplicated. */
  tokenKeys: string[]
}

/** The freshkey instance: build keys, record changes, cache values. Create with {@link createFreshkey}. */
export class Freshkey {
  readonly namespace: string
  readonly version: string
  readonly store: Store
  readonly #keys: Keyspace
  readonly #scopes: ScopeRegistry
  readonly #resolvers: EntityResolver[] = []
  readonly #pendingScopes = new Map<object, (readonly string[])[]>()
  readonly #txContext = new AsyncLocalStorage<Transaction>()
  readonly #txSources: (() => Transaction | undefined)[] = []
  readonly #flights = new Map<string, Promise<unknown>>()
  readonly #background = new Set<Promise<unknown>>()
  readonly #stats = newStats()
  readonly #tokenTtl: number
  readonly #ttl: number
  readonly #serializer: Serializer
  readonly #leaseMs: number
  readonly #bumpAttempts: number
  readonly #host: TransactionHost
  #epochDebt = false
  #epochTimer: NodeJS.Timeout | undefined
  #versionRegistered = false

  constructor(options: FreshkeyOptions) {
    if (!options || typeof options !== 'object')
      throw new ConfigError('createFreshkey needs an options object')
    const { store, namespace } = options
    if (!store || typeof store.tokens !== 'function') throw new ConfigError('createFreshkey needs a `store`')
    if (typeof namespace !== 'string' || namespace === '')
      throw new ConfigError('`namespace` must be a non-empty string')
    const version = options.version ?? '0'
    if (typeof version !== 'string' || version === '')
      throw new ConfigError('`version` must be a non-empty string')
    this.namespace = namespace
    this.version = version
    this.store = store
    this.#tokenTtl = positive(options.tokenTtl ?? 7 * 24 * 3600, 'tokenTtl')
    this.#ttl = positive(options.ttl ?? 3600, 'ttl')
    this.#leaseMs = positive(options.leaseMs ?? 5000, 'leaseMs')
    this.#bumpAttempts = Math.max(1, Math.floor(options.bumpAttempts ?? 3))
    this.#serializer = options.serializer ?? jsonSerializer
    this.#keys = new Keyspace(namespace, version)
    this.#scopes = new ScopeRegistry(this.#keys)
    this.#host = { plan: (change, out) => this.#plan(change, out), publish: (keys) => this.#publish(keys) }
  }

  // ---------------------------------------------------------------- entities and scopes

  /** Lets `keyFor` and `dep.scope` understand an ORM's entities. Returns an unregister function. */
  registerResolver(resolver: EntityResolver): () => void {
    this.#resolvers.push(resolver)
    this.refreshResolvers()
    return () => {
      const i = this.#resolvers.indexOf(resolver)
      if (i >= 0) this.#resolvers.splice(i, 1)
    }
  }

  /**
   * Asks the resolvers again for entity classes whose scopes were declared before any resolver
   * knew them (an adapter calls this once its ORM metadata is built).
   */
  refreshResolvers(): void {
    for (const [target, lists] of this.#pendingScopes) {
      const table = this.#tableOf(target)
      if (table !== undefined) {
        this.#scopes.define(table, lists)
        this.#pendingScopes.delete(target)
      }
    }
  }

  /** Reports an error an adapter swallowed (so a write never fails): counted, and published on `freshkey:error`. */
  reportError(operation: string, error: unknown): void {
    this.#stats.adapterErrors++
    emit('error', () => ({ namespace: this.namespace, operation, error }))
  }

  #tableOf(target: unknown): string | undefined {
    for (const r of this.#resolvers) {
      const table = r.tableOf(target)
      if (table !== undefined) return table
    }
    return undefined
  }

  /**
   * Declares scopes: one field list (`['published', 'category']`) or several. `target` is a table
   * name or an entity class (resolved once an adapter knows it).
   */
  defineScope(target: string | object, fields: readonly string[] | readonly (readonly string[])[]): void {
    if (typeof target === 'string') {
      if (target === '') throw new InvalidDependencyError('a table name must be a non-empty string')
      this.#scopes.define(target, fields)
      return
    }
    if (!Array.isArray(fields))
      throw new ConfigError('defineScope needs a field list or a list of field lists')
    const lists = (
      fields.length > 0 && Array.isArray(fields[0]) ? fields : [fields]
    ) as readonly (readonly string[])[]
    const table = this.#tableOf(target)
    if (table !== undefined) this.#scopes.define(table, lists)
    else this.#pendingScopes.set(target, [...(this.#pendingScopes.get(target) ?? []), ...lists])
  }

  /** Union of the scoped fields of a table (empty when none): the columns a before image needs. */
  scopedFields(table: string): string[] {
    return this.#scopes.fields(table)
  }

  #scopeTable(target: string | object): string {
    if (typeof target === 'string') return target
    const table = this.#tableOf(target)
    if (table === undefined) {
      const name = (target as { name?: string }).name ?? 'entity'
      throw new InvalidDependencyError(`no registered resolver knows ${name}: install its ORM adapter first`)
    }
    const declared = scopesOf(target)
    if (declared) this.#scopes.define(table, declared)
    return table
  }

  // ---------------------------------------------------------------- keys

  /** Token keys of one dependency. */
  #depKeys(d: Dependency, out: string[]): void {
    const k = this.#keys
    switch (d.type) {
      case 'row':
        out.push(k.row(d.table, d.pk), k.bulk(d.table))
        return
      case 'table':
        out.push(k.table(d.table))
        return
      case 'all':
        out.push(k.all)
        return
      case 'tag':
        out.push(k.tagKey(d.name))
        return
      case 'scope': {
        const table = this.#scopeTable(d.target)
        out.push(...this.#scopes.tokenKeys(table, d.where))
      }
    }
  }

  #identify(value: object): Dependency | undefined {
    for (const r of this.#resolvers) {
      const id = r.identify(value)
      if (id) return dep.row(id.table, id.pk)
    }
    return undefined
  }

  /** Turns key parts into an injective body and the token keys they depend on. */
  #resolve(parts: readonly unknown[], label = 'parts'): Resolved {
    // Rows are deduplicated by table and primary key, not by their built key strings: hashing every
    // freshly concatenated key into a Set cost more than the client side of the round trip.
    const k = this.#keys
    const tokenKeys: string[] = [k.epoch]
    const rows = new Map<string, string[] | Set<string>>()
    const body: string[] = []
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]
      const d = this.#asDependency(part, label, i)
      if (!d) {
        body.push(canonical(part, `${label}[${i}]`))
      } else if (d.type === 'row') {
        let pks = rows.get(d.table)
        if (!pks) {
          pks = []
          rows.set(d.table, pks)
          tokenKeys.push(k.bulk(d.table))
        }
        // A short list scan beats hashing; a Set takes over for long lists.
        const seen = Array.isArray(pks) ? pks.includes(d.pk) : pks.has(d.pk)
        if (!seen) {
          if (Array.isArray(pks)) {
            pks.push(d.pk)
            if (pks.length > 32) rows.set(d.table, new Set(pks))
          } else pks.add(d.pk)
          tokenKeys.push(k.row(d.table, d.pk))
        }
        body.push(depBody(d, ''))
      } else {
        const before = tokenKeys.length
        this.#depKeys(d, tokenKeys)
        // Non-row dependencies are few; drop the keys an earlier part already reads.
        for (let j = tokenKeys.length - 1; j >= before; j--) {
          if (tokenKeys.indexOf(tokenKeys[j]!) < j) tokenKeys.splice(j, 1)
        }
        body.push(depBody(d, d.type === 'scope' ? this.#scopeTable(d.target) : ''))
      }
    }
    return { body: body.join(','), tokenKeys }
  }

  #asDependency(part: unknown, label: string, i: number): Dependency | undefined {
    if (isDependency(part)) return part
    if (typeof part === 'string') return ALKEY.test(part) ? parseDependency(part) : undefined
    if (typeof part === 'function') {
      const table = this.#tableOf(part)
      if (table === undefined) {
        throw new InvalidKeyPartError(
          `${label}[${i}]`,
          `no registered resolver knows ${part.name || 'this function'} (install its ORM adapter)`,
        )
      }
      return dep.table(table)
    }
    if (typeof part === 'object' && part !== null && !Array.isArray(part) && !(part instanceof Date)) {
      const row = this.#identify(part)
      if (row) return row
      const table = this.#tableOf(part)
      return table === undefined ? undefined : dep.table(table)
    }
    return undefined
  }

  /**
   * A cache key that changes whenever any dependency among `parts` is bumped. Parts are
   * dependencies (or `table#pk` strings), entities and entity classes (through registered
   * resolvers) and plain values. One store round trip.
   */
  async keyFor(...parts: unknown[]): Promise<string> {
    const { body, tokenKeys } = this.#resolve(parts)
    const tokens = await this.#tokens(tokenKeys)
    return `${this.#keys.versionPrefix}k:${boundKey(`${body}|${tokens.join('.')}`)}`
  }

  /** Reads the current tokens of `deps` before a load, to store its result later with `set({ snapshot })`. */
  async snapshot(deps: readonly unknown[]): Promise<TokenSnapshot> {
    const { tokenKeys } = this.#resolve(deps, 'deps')
    return { tokenKeys, tokens: await this.#tokens(tokenKeys) }
  }

  // ---------------------------------------------------------------- changes

  #plan(change: Change, out: Set<string>): void {
    if (!change || typeof change !== 'object') throw new InvalidDependencyError('a change must be an object')
    const k = this.#keys
    const table = change.table
    if (typeof table !== 'string' || table === '')
      throw new InvalidDependencyError('a change needs a table name')
    out.add(k.table(table)).add(k.all)
    if (change.kind === 'bulk') {
      out.add(k.bulk(table))
      return
    }
    if (change.kind !== 'insert' && change.kind !== 'update' && change.kind !== 'delete') {
      throw new InvalidDependencyError(`unknown change kind "${String((change as { kind?: unknown }).kind)}"`)
    }
    const row = dep.row(table, change.pk)
    out.add(k.row(table, (row as { pk: string }).pk))
    this.#scopes.bumps(change, out)
  }

  /** Bumps keys, retrying; if the store stays unreachable, owes an epoch bump (DESIGN rule 6). */
  async #publish(keys: Set<string>): Promise<void> {
    const list = [...keys]
    for (let attempt = 0; attempt < this.#bumpAttempts; attempt++) {
      try {
        await this.store.bump(list, this.#tokenTtl, this.#keys.bumps)
        this.#stats.invalidations++
        emit('invalidate', () => ({ namespace: this.namespace, keys: list }))
        return
      } catch (error) {
        this.#storeError('bump', error)
        if (attempt + 1 < this.#bumpAttempts) await sleep(20 * 2 ** attempt)
      }
    }
    this.#oweEpoch()
  }

  #oweEpoch(): void {
    this.#epochDebt = true
    if (this.#epochTimer) return
    this.#epochTimer = setInterval(() => {
      this.#payEpoch().catch(() => {})
    }, 1000)
    this.#epochTimer.unref()
  }

  async #payEpoch(): Promise<void> {
    if (!this.#epochDebt) return
    await this.store.bump([this.#keys.epoch], this.#tokenTtl, this.#keys.bumps)
    this.#epochDebt = false
    if (this.#epochTimer) clearInterval(this.#epochTimer)
    this.#epochTimer = undefined
    emit('invalidate', () => ({ namespace: this.namespace, keys: [this.#keys.epoch] }))
  }

  /** Bumps the dependencies of these changes now, in one store call. */
  async changed(...changes: Change[]): Promise<void> {
    const keys = new Set<string>()
    for (const c of changes) this.#plan(c, keys)
    if (keys.size > 0) await this.#publish(keys)
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
        for (const key of this.#scopes.tokenKeys(this.#scopeTable(d.target), d.where).slice(0, -2))
          keys.add(key)
      } else {
        const out: string[] = []
        this.#depKeys(d, out)
        keys.add(out[0]!)
      }
    }
    if (keys.size > 0) await this.#publish(keys)
  }

  /** Invalidates every key and value of this namespace (all versions) by bumping its epoch. */
  async invalidateAll(): Promise<void> {
    await this.#publish(new Set([this.#keys.epoch]))
  }

  /** A change buffer, bumped once by its `commit()`; `savepoint()` nests. */
  transaction(): Transaction {
    return new Transaction(this.#host)
  }

  /** Runs `fn` with `tx` as the current transaction of its async context (see `currentTransaction`). */
  runInTransaction<T>(tx: Transaction, fn: () => T): T {
    return this.#txContext.run(tx, fn)
  }

  /** Adds a way to find the current transaction (for ORMs that track their own async context). */
  addTransactionSource(source: () => Transaction | undefined): () => void {
    this.#txSources.push(source)
    return () => {
      const i = this.#txSources.indexOf(source)
      if (i >= 0) this.#txSources.splice(i, 1)
    }
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

  // ---------------------------------------------------------------- store access

  #storeError(operation: string, error: unknown): void {
    this.#stats.storeErrors++
    emit('error', () => ({ namespace: this.namespace, operation, error }))
  }

  async #guard<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      if (this.#epochDebt) await this.#payEpoch()
      return await run()
    } catch (error) {
      if (error instanceof FreshkeyError && !(error instanceof StoreUnavailableError)) throw error
      this.#storeError(operation, error)
      throw error instanceof StoreUnavailableError
        ? error
        : new StoreUnavailableError(`store ${operation} failed: ${(error as Error)?.message ?? error}`, {
            cause: error,
          })
    }
  }

  #tokens(tokenKeys: readonly string[]): Promise<string[]> {
    return this.#guard('tokens', () => this.store.tokens(tokenKeys, this.#tokenTtl))
  }

  // ---------------------------------------------------------------- value cache

  #entryKey(depsOrKey: readonly unknown[] | string, key: string | undefined): string {
    if (key !== undefined) return this.#userKey(key)
    if (typeof depsOrKey === 'string') return this.#userKey(depsOrKey)
    return ''
  }

  #userKey(key: string): string {
    if (typeof key !== 'string' || key === '')
      throw new InvalidKeyPartError('key', 'a cache key must be a non-empty string')
    return this.#keys.value(`u:${boundKey(segment(key))}`)
  }

  /**
   * Returns the cached value for these dependencies, or runs `loader` and caches its result.
   * Tokens are read first (DESIGN rule 1); the result is stored only if they are still current.
   * Store trouble never fails the call: the loader runs instead.
   */
  async wrap<T>(
    depsOrKey: readonly unknown[] | string,
    loader: () => T | Promise<T>,
    options: WrapOptions = {},
  ): Promise<Awaited<T>> {
    if (typeof loader !== 'function') throw new ConfigError('wrap needs a loader function')
    const parts = typeof depsOrKey === 'string' ? [] : depsOrKey
    if (!Array.isArray(parts)) throw new ConfigError('wrap needs an array of dependencies or a string key')
    const resolved = this.#resolve(parts, 'deps')
    const entryKey =
      this.#entryKey(depsOrKey, options.key) || this.#keys.value(`w:${boundKey(resolved.body)}`)
    return this.#cachedCall<Awaited<T>>(entryKey, resolved.tokenKeys, async () => await loader(), options)
  }

  async #cachedCall<T>(
    entryKey: string,
    tokenKeys: string[],
    loader: () => Promise<unknown>,
    options: WrapOptions,
    force = false,
  ): Promise<T> {
    const tx = this.currentTransaction()
    if (tx?.touches(tokenKeys)) {
      this.#stats.bypasses++
      return this.#runLoader(entryKey, loader) as Promise<T>
    }
    let read: StoreRead
    try {
      read = await this.#guard('read', () => this.store.read(entryKey, tokenKeys, this.#tokenTtl))
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error
      this.#stats.bypasses++
      return this.#runLoader(entryKey, loader) as Promise<T>
    }
    const now = Date.now()
    if (!force && read.entry) {
      if (read.valid && read.entry.freshUntil > now) {
        this.#stats.hits++
        emit('hit', () => ({ namespace: this.namespace, key: entryKey }))
        return this.#serializer.deserialize(read.entry.payload) as T
      }
      const swr = options.staleWhileRevalidate ?? 0
      if (swr > 0 && !tx && read.entry.freshUntil + swr * 1000 > now) {
        this.#stats.staleServed++
        emit('stale', () => ({ namespace: this.namespace, key: entryKey }))
        const refresh = this.#flight(entryKey, tokenKeys, read.tokens, loader, options).catch(() => {})
        this.#track(refresh)
        return this.#serializer.deserialize(read.entry.payload) as T
      }
    }
    this.#stats.misses++
    emit('miss', () => ({ namespace: this.namespace, key: entryKey }))
    // Inside a transaction the loader may see an old snapshot: serve it, never store it (DESIGN rule 4).
    if (tx) return this.#runLoader(entryKey, loader) as Promise<T>
    return this.#flight(entryKey, tokenKeys, read.tokens, loader, options) as Promise<T>
  }

  #track(p: Promise<unknown>): void {
    this.#background.add(p)
    p.finally(() => this.#background.delete(p))
  }

  /** Single flight: concurrent misses on one key under the same tokens share one load. */
  #flight<T>(
    entryKey: string,
    tokenKeys: string[],
    tokens: string[],
    loader: () => Promise<T>,
    options: WrapOptions,
  ): Promise<T> {
    const id = `${entryKey}\n${tokens.join('.')}`
    const running = this.#flights.get(id)
    if (running) return running as Promise<T>
    const p = this.#leasedLoad(entryKey, tokenKeys, tokens, loader, options).finally(() =>
      this.#flights.delete(id),
    )
    this.#flights.set(id, p)
    return p
  }

  /** Across processes a lease lets one load while the others wait for its result, up to the lease time. */
  async #leasedLoad<T>(
    entryKey: string,
    tokenKeys: string[],
    tokens: string[],
    loader: () => Promise<T>,
    options: WrapOptions,
  ): Promise<T> {
    const leaseKey = this.#keys.lease(entryKey.slice(this.#keys.versionPrefix.length))
    const deadline = Date.now() + this.#leaseMs
    let owner: string | undefined
    let current = tokens
    for (let wait = 10; ; wait = Math.min(wait * 1.5, 100)) {
      try {
        owner = await this.store.acquire(leaseKey, this.#leaseMs)
      } catch (error) {
        this.#storeError('acquire', error)
        break
      }
      if (owner !== undefined || Date.now() >= deadline) break
      await sleep(wait)
      try {
        const read = await this.store.read(entryKey, tokenKeys, this.#tokenTtl)
        current = read.tokens
        if (read.valid && read.entry && read.entry.freshUntil > Date.now()) {
          this.#stats.hits++
          emit('hit', () => ({ namespace: this.namespace, key: entryKey }))
          return this.#serializer.deserialize(read.entry.payload) as T
        }
      } catch (error) {
        this.#storeError('read', error)
        break
      }
    }
    try {
      const value = await this.#runLoader(entryKey, loader)
      if (value !== undefined || options.cacheUndefined)
        await this.#store(entryKey, tokenKeys, current, value, options)
      return value
    } finally {
      if (owner !== undefined)
        this.store.release(leaseKey, owner).catch((e) => this.#storeError('release', e))
    }
  }

  async #runLoader<T>(entryKey: string, loader: () => Promise<T>): Promise<T> {
    const started = performance.now()
    this.#stats.loads++
    try {
      const value = await loader()
      emit('load', () => ({
        namespace: this.namespace,
        key: entryKey,
        durationMs: performance.now() - started,
      }))
      return value
    } catch (error) {
      this.#stats.loadErrors++
      emit('load', () => ({
        namespace: this.namespace,
        key: entryKey,
        durationMs: performance.now() - started,
        error,
      }))
      throw error
    }
  }

  /** Compare-and-set; store trouble is reported, never thrown. */
  async #store(
    entryKey: string,
    tokenKeys: readonly string[],
    tokens: readonly string[],
    value: unknown,
    options: WrapOptions,
  ): Promise<boolean> {
    let payload: string
    try {
      payload = this.#serializer.serialize(value)
    } catch (error) {
      emit('error', () => ({ namespace: this.namespace, operation: 'serialize', error }))
      return false
    }
    return this.#write(entryKey, tokenKeys, tokens, payload, options).catch((error) => {
      this.#storeError('write', error)
      return false
    })
  }

  async #write(
    entryKey: string,
    tokenKeys: readonly string[],
    tokens: readonly string[],
    payload: string,
    options: WrapOptions,
  ): Promise<boolean> {
    const ttl = positive(options.ttl ?? this.#ttl, 'ttl')
    const swr = options.staleWhileRevalidate ?? 0
    const entry: StoredEntry = { tokenKeys, tokens, freshUntil: Date.now() + ttl * 1000, payload }
    if (!this.#versionRegistered) {
      this.#versionRegistered = true
      this.store.register(this.#keys.versions, this.version).catch((e) => {
        this.#versionRegistered = false
        this.#storeError('register', e)
      })
    }
    return this.store.write(entryKey, entry, (ttl + swr) * 1000)
  }

  /** The fresh value stored under a user key, or `undefined` when absent or any dependency moved. */
  async get<T = unknown>(key: string): Promise<T | undefined> {
    const entryKey = this.#userKey(key)
    const read = await this.#guard('read', () => this.store.read(entryKey, [], this.#tokenTtl))
    return read.valid && read.entry && read.entry.freshUntil > Date.now()
      ? (this.#serializer.deserialize(read.entry.payload) as T)
      : undefined
  }

  /**
   * For result caches, in one store round trip: the fresh value under a user key (a hit), or the
   * snapshot of `deps` to store the loaded value with, via `set(key, value, { deps, snapshot })`.
   * Counted in `stats()` and published on `freshkey:hit` / `freshkey:miss`.
   */
  async lookup<T = unknown>(
    key: string,
    deps: readonly unknown[],
  ): Promise<{ hit: true; value: T } | { hit: false; snapshot: TokenSnapshot }> {
    const entryKey = this.#userKey(key)
    const { tokenKeys } = this.#resolve(deps, 'deps')
    const read = await this.#guard('read', () => this.store.read(entryKey, tokenKeys, this.#tokenTtl))
    if (read.valid && read.entry && read.entry.freshUntil > Date.now()) {
      this.#stats.hits++
      emit('hit', () => ({ namespace: this.namespace, key: entryKey }))
      return { hit: true, value: this.#serializer.deserialize(read.entry.payload) as T }
    }
    this.#stats.misses++
    emit('miss', () => ({ namespace: this.namespace, key: entryKey }))
    return { hit: false, snapshot: { tokenKeys, tokens: read.tokens } }
  }

  /** True when a fresh value is stored under the key. */
  async has(key: string): Promise<boolean> {
    const entryKey = this.#userKey(key)
    const read = await this.#guard('read', () => this.store.read(entryKey, [], this.#tokenTtl))
    return read.valid && read.entry !== undefined && read.entry.freshUntil > Date.now()
  }

  /**
   * Stores a value under a user key with declared dependencies. Pass `snapshot` (from `fk.snapshot`,
   * taken before the value was loaded) so a write that committed meanwhile makes it not store;
   * without one, the tokens are read now, so the caller vouches that the value is current.
   * Resolves to false when nothing was stored (a dependency moved, or inside a transaction).
   */
  async set(
    key: string,
    value: unknown,
    options: { deps?: readonly unknown[]; ttl?: number; snapshot?: TokenSnapshot } = {},
  ): Promise<boolean> {
    const entryKey = this.#userKey(key)
    const payload = this.#serializer.serialize(value)
    const { tokenKeys } = this.#resolve(options.deps ?? [], 'deps')
    const snap = options.snapshot
    if (
      snap &&
      (snap.tokenKeys.length !== tokenKeys.length || snap.tokenKeys.some((k, i) => k !== tokenKeys[i]))
    ) {
      throw new ConfigError('the snapshot was taken for other dependencies than `deps`')
    }
    if (this.currentTransaction()) return false
    const tokens = snap ? snap.tokens : await this.#tokens(tokenKeys)
    return this.#guard('write', () => this.#write(entryKey, tokenKeys, tokens, payload, options))
  }

  /** Deletes the value under a user key. */
  async delete(key: string): Promise<void> {
    const entryKey = this.#userKey(key)
    await this.#guard('delete', () => this.store.delete([entryKey]))
  }

  /**
   * Memoizes `fn`: readable keys from `name` and the canonical arguments, dependencies from
   * `options.deps(...args)`, single flight and leases like `wrap`.
   */
  cached<A extends unknown[], R>(
    fn: (...args: A) => R,
    options: CachedOptions<A> = {},
  ): CachedFunction<A, R> {
    return this.#memoize(fn, options, () => options.name ?? fn.name)
  }

  #memoize<A extends unknown[], R>(
    fn: (...args: A) => R,
    options: CachedOptions<A>,
    nameOf: (self: unknown) => string,
  ): CachedFunction<A, R> & ((this: unknown, ...args: A) => Promise<Awaited<R>>) {
    if (typeof fn !== 'function') throw new ConfigError('cached needs a function')
    const fk = this
    const keyOf = (self: unknown, args: A): string => {
      const name = nameOf(self)
      if (!name) throw new ConfigError('cached: an anonymous function needs `options.name`')
      return this.#keys.value(`m:${boundKey(`${segment(name)}:${canonical(args, 'args')}`)}`)
    }
    const tokenKeysOf = (args: A) =>
      this.#resolve(options.deps ? options.deps(...args) : [], 'deps').tokenKeys
    const call = function (this: unknown, ...args: A): Promise<Awaited<R>> {
      return fk.#cachedCall<Awaited<R>>(
        keyOf(this, args),
        tokenKeysOf(args),
        async () => await fn.apply(this, args),
        options,
      )
    }
    return Object.assign(call, {
      invalidate: async (...args: A) => {
        const key = keyOf(undefined, args)
        await this.#guard('delete', () => this.store.delete([key]))
      },
      refresh: function (this: unknown, ...args: A) {
        return fk.#cachedCall<Awaited<R>>(
          keyOf(this, args),
          tokenKeysOf(args),
          async () => await fn.apply(this, args),
          options,
          true,
        )
      },
      peek: async (...args: A): Promise<Awaited<R>> => {
        const key = keyOf(undefined, args)
        const read = await this.#guard('read', () => this.store.read(key, [], this.#tokenTtl))
        if (!read.valid || !read.entry || read.entry.freshUntil <= Date.now()) throw new NotCachedError(key)
        return this.#serializer.deserialize(read.entry.payload) as Awaited<R>
      },
      keyOf: (...args: A) => keyOf(undefined, args),
    })
  }

  /**
   * A method decorator that memoizes per class (not per instance), standard (TypeScript 5) or
   * legacy form. The key name is `Class.method` unless `options.name` is given.
   */
  cache<A extends unknown[]>(options: CachedOptions<A> = {}) {
    const fk = this
    return function decorate(target: any, context: any, descriptor?: PropertyDescriptor): any {
      const legacy = descriptor !== undefined
      const method = legacy ? descriptor.value : target
      const methodName = String(legacy ? context : context?.name)
      const className = legacy
        ? typeof target === 'function'
          ? target.name
          : target.constructor?.name
        : undefined
      let memo: ((this: unknown, ...args: A) => Promise<unknown>) | undefined
      const nameOf = (self: unknown) =>
        options.name ??
        `${className ?? (self as { constructor?: { name?: string } })?.constructor?.name ?? 'anonymous'}.${methodName}`
      const replacement = function (this: unknown, ...args: A) {
        memo ??= fk.#memoize(method, options, nameOf)
        return memo.apply(this, args)
      }
      if (legacy) return { ...descriptor, value: replacement }
      return replacement
    }
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

  // ---------------------------------------------------------------- housekeeping

  /**
   * Deletes other versions' values (SCAN + UNLINK in batches on Redis). `keepVersions: n` keeps the
   * current version and the n-1 most recently registered others; `version` deletes exactly that one.
   */
  async purge(
    options: { keepVersions?: number; version?: string } = {},
  ): Promise<{ versions: string[]; deleted: number }> {
    const known = await this.#guard('register', () => this.store.register(this.#keys.versions, this.version))
    this.#versionRegistered = true
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

  /** A copy of the counters. */
  stats(): FreshkeyStats {
    return { ...this.#stats }
  }

  /** Resolves when background refreshes (stale-while-revalidate) have settled. */
  async idle(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background])
  }

  /** Internal key names (for adapters, collections and tests). */
  get keyspace(): Keyspace {
    return this.#keys
  }

  /** Token keys that these dependencies/parts read (epoch first). */
  tokenKeysOf(parts: readonly unknown[]): string[] {
    return this.#resolve(parts).tokenKeys
  }

  /** Stops background timers. Does not close the store (it may be shared). */
  async close(): Promise<void> {
    await this.idle()
    if (this.#epochDebt) await this.#payEpoch().catch((e) => this.#storeError('bump', e))
    if (this.#epochTimer) clearInterval(this.#epochTimer)
    this.#epochTimer = undefined
  }
}

/**
 * Injective, self-delimiting key text of a dependency (length-prefixed names). Scope values that
 * only normalize alike share tokens, never a cached value (DESIGN rule 7), hence the raw `where`.
 */
function depBody(d: Dependency, scopeTable: string): string {
  switch (d.type) {
    case 'row':
      return `#r${d.table.length}:${d.table}${d.pk.length}:${d.pk}`
    case 'table':
      return `#t${d.table.length}:${d.table}`
    case 'all':
      return '#g'
    case 'tag':
      return `#x${d.name.length}:${d.name}`
    case 'scope':
      return `#s${scopeTable.length}:${scopeTable}${whereKey(d.where)}`
  }
}

function positive(value: number, name: string): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new ConfigError(`\`${name}\` must be a positive number`)
  }
  return value
}

/** Creates a freshkey instance. */
export function createFreshkey(options: FreshkeyOptions): Freshkey {
  return new Freshkey(options)
}
