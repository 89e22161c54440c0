import { AsyncResource } from 'node:async_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { type Dependency, dep } from './dependency.ts'
import { sha256 } from './encoding.ts'
import { ConfigError, FreshkeyError, StoreUnavailableError } from './errors.ts'
import { emit } from './events.ts'
import type { Freshkey, TokenSnapshot } from './freshkey.ts'

/** Derived views of a collection: each receives the items and returns anything (an index, a grouping). */
export type CollectionViews<K, V> = Record<string, (items: ReadonlyMap<K, V>) => unknown>

/** Options of `fk.collection()`. */
export interface CollectionOptions<K, V, Views extends CollectionViews<K, V> = {}> {
  /** Names the snapshot in the store; unique per namespace. */
  name: string
  /** What makes the collection stale: entity classes, `dep.table(...)`, `dep.tag(...)`, any dependency. */
  deps: readonly unknown[]
  /** Loads every item from the source of truth. */
  load: () => Promise<Map<K, V>> | Map<K, V>
  /** Derived views, computed on first use after each reload. */
  views?: Views
  /** checkInterval: milliseconds between token checks, the fallback when a pub/sub message is lost. Default 1000. */
  checkInterval?: number
  /** leaseMs: milliseconds one process may load while the others wait for its snapshot. Default 10000. */
  leaseMs?: number
  /** ttl: seconds a published snapshot stays in the store. Default 86400. */
  ttl?: number
}

/** A collection was read before its first successful `ready()`. */
export class CollectionNotReadyError extends FreshkeyError {
  constructor(name: string) {
    super('E_COLLECTION_NOT_READY', `collection "${name}" was read before ready() resolved`)
  }
}

/** `load()` of a collection threw or returned something other than a Map. `cause` holds the error. */
export class CollectionLoadError extends FreshkeyError {
  /** The collection's name. */
  readonly collection: string
  constructor(name: string, message: string, options?: { cause?: unknown }) {
    super('E_COLLECTION_LOAD', `collection "${name}": ${message}`, options)
    this.collection = name
  }
}

interface Snapshot<K, V> {
  /** Tokens the items were loaded under; `undefined` when unknown (loaded while the store was down). */
  readonly revision: string | undefined
  readonly items: ReadonlyMap<K, V>
  readonly views: Map<string, unknown>
}

const SEP = '.'
const revisionOf = (snap: TokenSnapshot) => `${snap.tokens.join(SEP)}|${snap.generation}`
const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i])

/** Stands in for the items before the first load: every read throws `CollectionNotReadyError`. */
function notReady<K, V>(name: string): ReadonlyMap<K, V> {
  const fail = (): never => {
    throw new CollectionNotReadyError(name)
  }
  return {
    get: fail,
    has: fail,
    forEach: fail,
    keys: fail,
    values: fail,
    entries: fail,
    [Symbol.iterator]: fail,
    get size(): number {
      return fail()
    },
  }
}

/**
 * An in-memory map every process holds, kept in sync across processes. Create with
 * `fk.collection(options)`. Reads are synchronous after `ready()`; values are shared, treat them as
 * read-only.
 *
 * The revision is the current tokens of the dependencies (plus the collection's own push tag
 * `collection:<name>`). A process that sees a new revision takes the snapshot published in the
 * store under that revision, or, holding a lease, loads and publishes it; the others wait.
 */
export class Collection<K, V, Views extends CollectionViews<K, V> = {}> {
  /** The collection's name. */
  readonly name: string
  readonly #fk: Freshkey
  readonly #deps: readonly unknown[]
  readonly #load: () => Promise<Map<K, V>> | Map<K, V>
  readonly #views: Partial<Views>
  readonly #checkInterval: number
  readonly #leaseMs: number
  readonly #ttlMs: number
  readonly #key: string
  readonly #revKey: string
  readonly #pushTag: Dependency
  // Checks run in the context the collection was created in, never inside a caller's transaction.
  readonly #detached = AsyncResource.bind(<T>(fn: () => T): T => fn())
  #current: Snapshot<K, V> | undefined
  // The read path is one field load and one Map call: before ready() the field holds an object
  // whose reads throw, so no check runs once it holds a Map (measurably faster than a check).
  #items: ReadonlyMap<K, V>
  #tokenKeys: ReadonlySet<string> | undefined
  #timer: NodeJS.Timeout | undefined
  #unsubscribe: (() => Promise<void>) | undefined
  #subscribing: Promise<void> | undefined
  #queue: Promise<unknown> = Promise.resolve()
  #queued: Promise<unknown> | undefined
  #forceNext = false
  #eagerNext = false
  #lastError: unknown
  #failedRevision: string | undefined
  #failures = 0
  #retryAt = 0
  #registered = false
  #closed = false

  constructor(fk: Freshkey, options: CollectionOptions<K, V, Views>) {
    if (!options || typeof options !== 'object') throw new ConfigError('collection needs an options object')
    const { name, deps, load } = options
    if (typeof name !== 'string' || name === '') {
      throw new ConfigError('collection: `name` must be a non-empty string')
    }
    if (!Array.isArray(deps)) throw new ConfigError(`collection "${name}": \`deps\` must be an array`)
    if (typeof load !== 'function') throw new ConfigError(`collection "${name}": \`load\` must be a function`)
    this.name = name
    this.#fk = fk
    this.#load = load
    this.#views = options.views ?? {}
    this.#checkInterval = positive(options.checkInterval ?? 1000, 'checkInterval', name)
    this.#leaseMs = positive(options.leaseMs ?? 10_000, 'leaseMs', name)
    this.#ttlMs = positive(options.ttl ?? 86_400, 'ttl', name) * 1000
    this.#key = fk.keyspace.collection(name)
    this.#revKey = `${this.#key}:r`
    this.#pushTag = dep.tag(`collection:${name}`)
    this.#deps = [...deps, this.#pushTag]
    this.#items = notReady(name)
  }

  // ---------------------------------------------------------------- reads

  #snapshot(): Snapshot<K, V> {
    const s = this.#current
    if (s === undefined) throw new CollectionNotReadyError(this.name)
    return s
  }

  /** The item under `key`. Throws `CollectionNotReadyError` before `ready()`. */
  get(key: K): V | undefined {
    return this.#items.get(key)
  }

  /** True when an item is under `key`. */
  has(key: K): boolean {
    return this.#items.has(key)
  }

  /** The items' values, in load order. */
  values(): MapIterator<V> {
    return this.#items.values()
  }

  /** The items' keys, in load order. */
  keys(): MapIterator<K> {
    return this.#items.keys()
  }

  /** The items as `[key, value]` pairs, in load order. */
  entries(): MapIterator<[K, V]> {
    return this.#items.entries()
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.#items.entries()
  }

  /** Number of items. */
  get size(): number {
    return this.#items.size
  }

  /** The current items as a read-only map (replaced, never mutated, on reload). */
  get items(): ReadonlyMap<K, V> {
    return this.#snapshot().items
  }

  /** Tokens the current items were loaded under; `undefined` before `ready()` or when the store was down. */
  get revision(): string | undefined {
    return this.#current?.revision
  }

  /** A derived view, computed on its first use after each reload and kept until the next one. */
  view<N extends keyof Views & string>(name: N): ReturnType<Views[N]> {
    const s = this.#snapshot()
    if (s.views.has(name)) return s.views.get(name) as ReturnType<Views[N]>
    const fn = this.#views[name]
    if (typeof fn !== 'function') throw new ConfigError(`collection "${this.name}" has no view "${name}"`)
    const value = fn(s.items) as ReturnType<Views[N]>
    s.views.set(name, value)
    return value
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Resolves once items are in memory: from the snapshot another process published, or loaded
   * here. Starts watching for changes. Rejects with `CollectionLoadError` when nothing could be
   * loaded, or with the error of a dependency that cannot be resolved (a later call tries again).
   */
  async ready(): Promise<void> {
    if (this.#current !== undefined) return
    this.#open()
    await this.#watch()
    const error = await this.#check({ eager: true })
    if (this.#current === undefined) throw asFreshkeyError(this.name, error)
  }

  /**
   * Loads now and makes every process take the result, even when no dependency changed: bumps the
   * collection's tag `collection:<name>`, then syncs like any change. Resolves once this process
   * holds the new items.
   */
  async push(): Promise<void> {
    this.#open()
    const before = this.#current?.revision
    await this.#fk.invalidate(this.#pushTag)
    await this.#watch()
    let error = await this.#check({ eager: true })
    // The bump did not reach the store (it is owed as an epoch bump): reload here at least.
    if (!error && before !== undefined && this.#current?.revision === before) {
      error = await this.#check({ force: true, eager: true })
    }
    if (error) throw asFreshkeyError(this.name, error)
  }

  /**
   * Deletes the snapshot of another freshkey version (`version`), or of every registered version
   * but the running one. Resolves to the versions purged.
   */
  async purge(options: { version?: string } = {}): Promise<string[]> {
    const ks = this.#fk.keyspace
    let versions: string[]
    if (options.version !== undefined) {
      if (options.version === this.#fk.version)
        throw new ConfigError('purge: cannot purge the running version')
      versions = [options.version]
    } else {
      const known = await this.#fk.store.register(ks.versions, this.#fk.version)
      versions = known.filter((v) => v !== this.#fk.version)
    }
    const keys = versions.flatMap((v) => {
      const key = ks.collection(this.name, v)
      return [key, `${key}:r`]
    })
    if (keys.length > 0) await this.#fk.store.delete(keys)
    return versions
  }

  /** Stops the timer and the subscription; reads keep answering from the last items. */
  async close(): Promise<void> {
    this.#closed = true
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
    await this.#subscribing?.catch(() => {})
    const unsubscribe = this.#unsubscribe
    this.#unsubscribe = undefined
    await unsubscribe?.().catch((error) => this.#report('unsubscribe', error))
    await this.#queue
  }

  #open(): void {
    if (this.#closed) throw new ConfigError(`collection "${this.name}" is closed`)
  }

  // ---------------------------------------------------------------- watching

  /** Subscribes before the first token read, so no bump falls between reading and listening. */
  async #watch(): Promise<void> {
    this.#tokenKeys ??= new Set(this.#fk.tokenKeysOf(this.#deps))
    if (!this.#timer) {
      this.#timer = setInterval(() => this.#detached(() => this.#tick()), this.#checkInterval)
      this.#timer.unref()
    }
    await this.#subscribe()
  }

  #tick(): void {
    if (!this.#unsubscribe) this.#subscribe().catch(() => {})
    this.#check().catch(() => {})
  }

  #notice(message: string): void {
    const lines = message.split('\n')
    // `#<sender> <time> *`: everything was invalidated.
    if (lines[0]!.startsWith('#') && lines[0]!.endsWith(' *')) {
      this.#check().catch(() => {})
      return
    }
    for (const key of lines) {
      if (this.#tokenKeys?.has(key)) {
        this.#check().catch(() => {})
        return
      }
    }
  }

  #subscribe(): Promise<void> {
    const store = this.#fk.store
    if (this.#unsubscribe || this.#closed || typeof store.subscribe !== 'function') return Promise.resolve()
    this.#subscribing ??= store
      .subscribe(this.#fk.keyspace.bumps, (message) => this.#detached(() => this.#notice(message)))
      .then(
        async (unsubscribe) => {
          if (this.#closed) await unsubscribe()
          else this.#unsubscribe = unsubscribe
        },
        // The token check covers for a missing subscription; the timer tries again.
        (error) => this.#report('subscribe', error),
      )
      .finally(() => {
        this.#subscribing = undefined
      })
    return this.#subscribing
  }

  /**
   * Queues a sync; a caller joins the queued one if it has not started yet (it will read tokens
   * after the call). `eager` (ready, push) skips the retry backoff. Resolves to the sync's error, if any.
   */
  #check(mode: { force?: boolean; eager?: boolean } = {}): Promise<unknown> {
    if (mode.force) this.#forceNext = true
    if (mode.eager) this.#eagerNext = true
    if (this.#queued) return this.#queued
    const next = this.#queue.then(() => {
      this.#queued = undefined
      const force = this.#forceNext
      const eager = this.#eagerNext
      this.#forceNext = this.#eagerNext = false
      return this.#detached(() => this.#sync(force, eager))
    })
    this.#queued = next
    this.#queue = next
    return next
  }

  // ---------------------------------------------------------------- syncing

  async #sync(force: boolean, eager: boolean): Promise<unknown> {
    let revision: string | undefined
    try {
      // Tokens first (DESIGN rule 1): items loaded after this are published under these tokens.
      const snap = await this.#fk.snapshot(this.#deps)
      revision = revisionOf(snap)
      if (!force) {
        if (this.#current?.revision === revision) return undefined
        if (!eager && revision === this.#failedRevision && Date.now() < this.#retryAt) return this.#lastError
      }
      if (force) await this.#loadAndPublish(snap, revision)
      else await this.#obtain(snap)
      this.#failedRevision = this.#lastError = undefined
      this.#failures = 0
      return undefined
    } catch (error) {
      if (!(error instanceof StoreUnavailableError || error instanceof CollectionLoadError)) {
        this.#report('sync', error)
      }
      if (error instanceof StoreUnavailableError && this.#current === undefined) {
        // Cache trouble never fails a read: with nothing in memory, load straight from the source.
        try {
          this.#install(undefined, await this.#runLoad())
          return undefined
        } catch (loadError) {
          return this.#failed(revision, loadError)
        }
      }
      return this.#failed(revision, error)
    }
  }

  /** A failing source is retried with backoff, not on every tick of every process. */
  #failed(revision: string | undefined, error: unknown): unknown {
    this.#failures = revision === this.#failedRevision ? this.#failures + 1 : 1
    this.#failedRevision = revision
    this.#retryAt = Date.now() + Math.min(this.#checkInterval * 2 ** (this.#failures - 1), 60_000)
    this.#lastError = error
    return error
  }

  /** Takes the published snapshot of this revision, or loads it under a lease while the others wait. */
  async #obtain(first: TokenSnapshot): Promise<void> {
    const store = this.#fk.store
    let snap = first
    for (let wait = 10; ; wait = Math.min(wait * 1.5, 100)) {
      const revision = revisionOf(snap)
      if (await this.#adopt(snap, revision)) return
      const leaseKey = `${this.#key}:l:${sha256(revision)}`
      let owner: string | undefined
      try {
        owner = await store.acquire(leaseKey, this.#leaseMs)
      } catch (error) {
        this.#report('acquire', error)
        return this.#loadAndPublish(snap, revision)
      }
      if (owner !== undefined) {
        try {
          // Someone may have published between our probe and the lease.
          if (await this.#adopt(snap, revision)) return
          return await this.#loadAndPublish(snap, revision)
        } finally {
          store.release(leaseKey, owner).catch((error) => this.#report('release', error))
        }
      }
      await sleep(wait)
      if (this.#closed) return
      snap = await this.#fk.snapshot(this.#deps)
    }
  }

  /**
   * Installs the stored snapshot if it was published under exactly these tokens. The store holds
   * two keys: the revision entry (small, written compare-and-set on the tokens) and the snapshot
   * itself (`<revision>\n<entries>`, plain GET/SET: megabytes never pass through a script). The
   * small one is read first, so waiting processes never transfer a snapshot they cannot use.
   */
  async #adopt(snap: TokenSnapshot, revision: string): Promise<boolean> {
    const store = this.#fk.store
    let raw: string | undefined
    try {
      const meta = (await store.read({ entry: this.#revKey, keys: [], ttl: 1 })).entry
      if (
        !meta ||
        meta.generation !== snap.generation ||
        !sameList(meta.keys, snap.keys) ||
        !sameList(meta.tokens, snap.tokens)
      ) {
        return false
      }
      raw = await store.getRaw(this.#key)
    } catch (error) {
      this.#report('read', error)
      return false
    }
    const nl = raw?.indexOf('\n') ?? -1
    // Between a publisher's revision write and its snapshot write, the previous snapshot is still there.
    if (raw === undefined || nl < 0 || raw.slice(0, nl) !== revision) return false
    let items: Map<K, V>
    try {
      items = new Map(this.#fk.serializer.deserialize(raw.slice(nl + 1)) as [K, V][])
    } catch (error) {
      this.#report('deserialize', error)
      return false
    }
    this.#install(revision, items)
    return true
  }

  async #loadAndPublish(snap: TokenSnapshot, revision: string): Promise<void> {
    const items = await this.#runLoad()
    // Loaded inside an open transaction: it may hold uncommitted rows, so it is neither published
    // nor trusted as this revision (DESIGN rule 4); the next check loads again.
    if (this.#fk.currentTransaction()) {
      this.#install(undefined, items)
      return
    }
    this.#install(revision, items)
    let payload: string
    try {
      payload = this.#fk.serializer.serialize([...items])
    } catch (error) {
      this.#report('serialize', error)
      return
    }
    const store = this.#fk.store
    try {
      if (!this.#registered) {
        await store.register(this.#fk.keyspace.versions, this.#fk.version)
        this.#registered = true
      }
      // Compare-and-set on the tokens read before load(): a change during the load leaves it
      // unpublished, never fresh; and a publisher that lost never overwrites the snapshot.
      const stored = await store.write({
        entry: this.#revKey,
        expect: { keys: snap.keys, tokens: snap.tokens },
        keys: snap.keys,
        fences: [],
        generation: snap.generation,
        freshUntil: Date.now() + this.#ttlMs,
        payload: '',
        ttlMs: this.#ttlMs,
        tokenTtl: Math.ceil(this.#ttlMs / 1000),
      })
      if (stored) {
        await store.setRaw(this.#key, `${revision}\n${payload}`, this.#ttlMs)
      }
    } catch (error) {
      this.#report('publish', error)
    }
  }

  async #runLoad(): Promise<Map<K, V>> {
    const started = performance.now()
    const namespace = this.#fk.namespace
    const key = this.#key
    try {
      const items = await this.#load()
      if (!(items instanceof Map)) throw new CollectionLoadError(this.name, 'load() must return a Map')
      emit('load', () => ({ namespace, key, durationMs: performance.now() - started }))
      return items
    } catch (cause) {
      const error =
        cause instanceof CollectionLoadError
          ? cause
          : new CollectionLoadError(this.name, 'load() failed', { cause })
      emit('load', () => ({ namespace, key, durationMs: performance.now() - started, error: cause }))
      this.#report('load', error)
      throw error
    }
  }

  #install(revision: string | undefined, items: ReadonlyMap<K, V>): void {
    this.#current = { revision, items, views: new Map() }
    this.#items = items
  }

  #report(operation: string, error: unknown): void {
    emit('error', () => ({ namespace: this.#fk.namespace, operation: `collection.${operation}`, error }))
  }
}

function asFreshkeyError(name: string, error: unknown): FreshkeyError {
  if (error instanceof FreshkeyError) return error
  return new CollectionLoadError(name, `nothing loaded: ${(error as Error)?.message ?? error}`, {
    cause: error,
  })
}

function positive(value: number, option: string, name: string): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
    throw new ConfigError(`collection "${name}": \`${option}\` must be a positive number`)
  }
  return value
}
