import { AsyncLocalStorage } from 'node:async_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Bumper } from './bumper.ts'
import { milliseconds, seconds } from './durations.ts'
import { ConfigError, LoaderTimeoutError } from './errors.ts'
import { emit, type FreshkeyStats } from './events.ts'
import type { Keyspace } from './keyspace.ts'
import type { NearCache } from './near-cache.ts'
import type { Planner } from './planner.ts'
import type { Reporter } from './reporter.ts'
import type { Serializer } from './serializer.ts'
import type { ReadResult, Store, StoredEntry } from './store.ts'
import { isFenced } from './token.ts'
import { ReadFrame, type ReadRecord } from './tracking.ts'
import type { Transaction } from './transaction.ts'

/** A loader: gets an `AbortSignal` that fires when the call's `timeout` passes or its `signal` aborts. */
export type Loader<T> = (context: { readonly signal: AbortSignal }) => T | Promise<T>

/** Options of `fk.wrap` (and, without `deps`, of `fk.cached`). */
export interface WrapOptions {
  /**
   * Dependencies declared by hand, added to those found automatically (the rows and filters the
   * loader's ORM queries read, with an adapter installed). A dependency or an array of them.
   */
  deps?: unknown
  /** ttl: how long the value stays fresh (seconds or `'5m'`). Default: the instance's `ttl`. */
  ttl?: number | string
  /** staleWhileRevalidate: how long after it went stale the previous value may be served while one refresh runs. Default 0. */
  staleWhileRevalidate?: number | string
  /** Cache a result of `undefined` (not cached by default). */
  cacheUndefined?: boolean
  /** timeout: how long this call waits for the loader (seconds or `'2s'`); then it rejects with `LoaderTimeoutError` and the loader's signal aborts. */
  timeout?: number | string
  /** Aborts the wait for the loader (the loader sees it through its context's signal). */
  signal?: AbortSignal
}

/** Tokens read before a load, to compare-and-set its result later (`fk.snapshot` / `set({ snapshot })`). */
export interface TokenSnapshot {
  readonly keys: readonly string[]
  readonly tokens: readonly string[]
  readonly generation: string
}

/** A miss of `fk.lookup`: hand it back to `fk.fill` with the loaded value. */
export interface FillTicket {
  readonly entry: string
  readonly frame: ReadFrame
  readonly generation: string
  readonly declared: readonly string[]
  readonly seq: number
}

/** What a load produced, for callers that joined it. */
interface Flight {
  readonly startedAt: number
  promise: Promise<Outcome>
  /** Joinable only while the loader runs: a caller arriving during the write might have seen a newer write. */
  open: boolean
}
interface Outcome {
  readonly value: unknown
  readonly stored: boolean
  /** Tokens and counters the load read before it ran. */
  readonly baseline: ReadonlyMap<string, string>
  readonly unsafe: boolean
}

/** What a read asks the store for: token keys (declared) and bump counters (the entry's known fences). */
interface Asked {
  readonly keys: readonly string[]
  readonly counters: readonly string[]
}

interface Resolved {
  readonly ttl: number
  readonly swr: number
  readonly cacheUndefined: boolean
  readonly timeoutMs: number | undefined
  readonly signal: AbortSignal | undefined
}

/** What the value cache needs from its freshkey instance. */
export interface ValueCacheHost {
  readonly store: Store
  readonly keys: Keyspace
  readonly namespace: string
  readonly version: string
  readonly serializer: Serializer
  readonly stats: FreshkeyStats
  readonly reporter: Reporter
  readonly bumper: Bumper
  readonly planner: Planner
  readonly near: NearCache | undefined
  readonly ttl: number
  readonly tokenTtl: number
  readonly leaseMs: number
  currentTransaction(): Transaction | undefined
}

const SHAPES = 10_000

/**
 * The value cache: reads tokens first (DESIGN rule 1), serves fresh values, loads once per process
 * (single flight) and once across processes (a lease taken by the read itself), and stores the
 * result compare-and-set: only if nothing it depends on changed during the load. A miss costs two
 * store round trips: the read, and the write that also releases the lease.
 */
export class ValueCache {
  readonly #h: ValueCacheHost
  readonly frames = new AsyncLocalStorage<ReadFrame>()
  readonly #flights = new Map<string, Flight>()
  /** Fences of recently seen entries: the next load of an entry reads them with its first read. */
  readonly #shapes = new Map<string, readonly string[]>()
  readonly #background = new Set<Promise<unknown>>()
  #versionRegistered = false
  /** The options of a call that sets none (most calls): one frozen object, not one per call. */
  readonly #defaults: Resolved

  constructor(host: ValueCacheHost) {
    this.#h = host
    this.#defaults = Object.freeze({
      ttl: host.ttl,
      swr: 0,
      cacheUndefined: false,
      timeoutMs: undefined,
      signal: undefined,
    })
  }

  resolveOptions(options: WrapOptions): Resolved {
    const h = this.#h
    if (
      options.ttl === undefined &&
      options.staleWhileRevalidate === undefined &&
      options.cacheUndefined !== true &&
      options.timeout === undefined &&
      options.signal === undefined
    )
      return this.#defaults
    return {
      ttl: options.ttl === undefined ? h.ttl : seconds(options.ttl, 'ttl'),
      swr:
        options.staleWhileRevalidate === undefined
          ? 0
          : seconds(options.staleWhileRevalidate, 'staleWhileRevalidate', { allowZero: true }),
      cacheUndefined: options.cacheUndefined === true,
      timeoutMs: options.timeout === undefined ? undefined : milliseconds(options.timeout, 'timeout'),
      signal: options.signal,
    }
  }

  /** The read frame of the calling async context (an adapter reports its queries' reads to it). */
  get frame(): ReadFrame | undefined {
    return this.frames.getStore()
  }

  #newFrame(read: ReadResult | undefined, asked: Asked, parent: ReadFrame | undefined): ReadFrame {
    const h = this.#h
    const pick = (keys: readonly string[]) => {
      const out = new Map<string, string>()
      for (const k of keys) {
        const v = read?.current.get(k)
        if (v !== undefined) out.set(k, v)
      }
      return out
    }
    return new ReadFrame(
      h.keys,
      pick(asked.keys),
      pick(asked.counters),
      (counters) => h.store.counters(counters),
      parent,
    )
  }

  #remember(entryKey: string, fences: readonly string[]): void {
    if (this.#shapes.size >= SHAPES) this.#shapes.delete(this.#shapes.keys().next().value as string)
    this.#shapes.set(entryKey, fences)
  }

  /** The shared path of `wrap`, `cached`, `refresh`. */
  async call<T>(
    entryKey: string,
    declared: readonly string[],
    loader: Loader<unknown>,
    options: Resolved,
    force = false,
  ): Promise<T> {
    const h = this.#h
    const tx = h.currentTransaction()
    const parent = this.frames.getStore()
    if (h.bumper.owing) await h.bumper.pay().catch(() => {})
    if (tx?.touches(declared) || h.bumper.owes(declared))
      return this.#bypass(entryKey, declared, loader, options) as Promise<T>
    const near = h.near
    if (near && !force && !parent) {
      const slot = near.get(entryKey, Date.now())
      if (slot && !tx?.touches(slot.keys)) {
        h.stats.hits++
        h.stats.nearHits++
        emit('hit', () => ({ namespace: h.namespace, key: entryKey }))
        return slot.value as T
      }
    }
    const asked: Asked = { keys: declared, counters: this.#shapes.get(entryKey) ?? NONE }
    const seq = near?.seq ?? 0
    const leased = !tx && !this.#flights.has(entryKey)
    let read: ReadResult
    try {
      read = await h.store.read(
        leased
          ? {
              entry: entryKey,
              keys: asked.keys,
              counters: asked.counters,
              ttl: h.tokenTtl,
              lease: h.keys.lease(entryKey),
              leaseMs: h.leaseMs,
            }
          : { entry: entryKey, keys: asked.keys, counters: asked.counters, ttl: h.tokenTtl },
      )
    } catch (error) {
      h.reporter.store('read', error)
      return this.#bypass(entryKey, declared, loader, options) as Promise<T>
    }
    const entry = read.entry
    // An entry without fences whose shape holds none either (or none is known) changes nothing.
    if (entry && (entry.fences.length > 0 || asked.counters.length > 0))
      this.#remember(entryKey, entry.fences)
    if (tx && entry && tx.touches(entry.keys)) {
      this.#release(entryKey, read)
      return this.#bypass(entryKey, declared, loader, options) as Promise<T>
    }
    const now = Date.now()
    const good = entry !== undefined && valid(entry, read, declared) && !h.bumper.owes(entry.keys)
    if (good && !force && entry.freshUntil > now) {
      this.#release(entryKey, read)
      return this.#hit<T>(entryKey, entry, read, parent, tx, seq)
    }
    // The store takes the lease for a read that is not a fresh valid hit: without it, someone else holds it.
    const contested = leased && read.lease === undefined && !(good && entry.freshUntil > now)
    if (entry && !force && options.swr > 0 && !tx && !parent && entry.freshUntil + options.swr * 1000 > now) {
      h.stats.staleServed++
      emit('stale', () => ({ namespace: h.namespace, key: entryKey }))
      const refresh = this.#flight(entryKey, declared, asked, read, loader, options, seq, contested).catch(
        () => {},
      )
      this.#track(refresh)
      return h.serializer.deserialize(entry.payload) as T
    }
    h.stats.misses++
    emit('miss', () => ({ namespace: h.namespace, key: entryKey }))
    // Inside a transaction the loader may see uncommitted rows: serve them, never store them (DESIGN rule 4).
    if (tx) return this.#bypass(entryKey, declared, loader, options, false) as Promise<T>
    return this.#flight(entryKey, declared, asked, read, loader, options, seq, contested) as Promise<T>
  }

  #hit<T>(
    entryKey: string,
    entry: StoredEntry,
    read: ReadResult,
    parent: ReadFrame | undefined,
    tx: Transaction | undefined,
    seq: number,
  ): T {
    const h = this.#h
    h.stats.hits++
    emit('hit', () => ({ namespace: h.namespace, key: entryKey }))
    parent?.adopt(entry.keys, entry.fences, read.current)
    const value = h.serializer.deserialize(entry.payload) as T
    if (h.near && !tx) h.near.put(entryKey, value, entry.keys, entry.freshUntil, entry.payload.length, seq)
    return value
  }

  /** Runs the loader without storing (counted as a bypass); its reads still reach an enclosing load. */
  async #bypass<T>(
    entryKey: string,
    declared: readonly string[],
    loader: Loader<T>,
    options: Resolved,
    count = true,
  ): Promise<T> {
    if (count) this.#h.stats.bypasses++
    const parent = this.frames.getStore()
    if (!parent) return this.#run(entryKey, loader, options)
    const frame = this.#newFrame(undefined, { keys: [], counters: [] }, parent)
    for (const k of declared) frame.keys.add(k)
    parent.unsafe = true
    return this.frames.run(frame, () => this.#run(entryKey, loader, options))
  }

  #release(entryKey: string, read: ReadResult): void {
    // The store took the lease although the entry turned out to be a hit (it cannot tell validity on every layout).
    if (read.lease === undefined) return
    this.#h.store.release(this.#h.keys.lease(entryKey), read.lease).catch(() => {})
  }

  /** Single flight: concurrent misses in this process share one load when its result is good for them. */
  async #flight<T>(
    entryKey: string,
    declared: readonly string[],
    asked: Asked,
    read: ReadResult,
    loader: Loader<T>,
    options: Resolved,
    seq: number,
    contested: boolean,
  ): Promise<T> {
    const h = this.#h
    const running = this.#flights.get(entryKey)
    // A loader that hangs longer than the lease time no longer holds later callers.
    if (running?.open && running.startedAt > Date.now() - h.leaseMs) {
      // A lease this read took (the flight started while the read was on its way) is not needed:
      // this caller joins the flight. Kept, it would hold every later caller until it expired.
      this.#release(entryKey, read)
      // Wait for it at most until its lease time is up: a hung loader must not hold every caller.
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<undefined>((r) => {
        timer = setTimeout(r, Math.max(0, running.startedAt + h.leaseMs - Date.now()), undefined)
      })
      const outcome = await Promise.race([running.promise.catch(() => undefined), late])
      clearTimeout(timer)
      if (outcome && joinable(outcome, read)) return outcome.value as T
      return (await this.#load(entryKey, declared, asked, read, loader, options, seq, undefined, noop))
        .value as T
    }
    const flight: Flight = { startedAt: Date.now(), promise: Promise.resolve(EMPTY), open: true }
    const close = () => {
      flight.open = false
      if (this.#flights.get(entryKey) === flight) this.#flights.delete(entryKey)
    }
    this.#flights.set(entryKey, flight)
    flight.promise = this.#leased(entryKey, declared, asked, read, loader, options, seq, contested, close)
    flight.promise.then(close, close)
    return (await flight.promise).value as T
  }

  /** Across processes the read took a lease: without it, wait for the holder's value up to the lease time. */
  async #leased<T>(
    entryKey: string,
    declared: readonly string[],
    asked: Asked,
    first: ReadResult,
    loader: Loader<T>,
    options: Resolved,
    seq: number,
    contested: boolean,
    close: () => void,
  ): Promise<Outcome> {
    const h = this.#h
    let read = first
    if (contested && read.generation !== '') {
      const deadline = Date.now() + h.leaseMs
      for (let wait = 10; Date.now() < deadline; wait = Math.min(wait * 1.5, 100)) {
        await sleep(wait)
        try {
          read = await h.store.read({
            entry: entryKey,
            keys: asked.keys,
            counters: asked.counters,
            ttl: h.tokenTtl,
            lease: h.keys.lease(entryKey),
            leaseMs: h.leaseMs,
          })
        } catch (error) {
          h.reporter.store('read', error)
          break
        }
        const e = read.entry
        if (e && valid(e, read, declared) && e.freshUntil > Date.now()) {
          if (read.lease !== undefined) h.store.release(h.keys.lease(entryKey), read.lease).catch(() => {})
          h.stats.hits++
          emit('hit', () => ({ namespace: h.namespace, key: entryKey }))
          close()
          return {
            value: h.serializer.deserialize(e.payload),
            stored: true,
            baseline: new Map(),
            unsafe: false,
          }
        }
        if (read.lease !== undefined) break
      }
    }
    return this.#load(entryKey, declared, asked, read, loader, options, seq, read.lease, close)
  }

  async #load<T>(
    entryKey: string,
    declared: readonly string[],
    asked: Asked,
    read: ReadResult,
    loader: Loader<T>,
    options: Resolved,
    seq: number,
    lease: string | undefined,
    loaded: () => void,
  ): Promise<Outcome> {
    const h = this.#h
    const frame = this.#newFrame(read, asked, this.frames.getStore())
    for (const k of declared) frame.keys.add(k)
    let value: T
    try {
      value = await this.frames.run(frame, () => this.#run(entryKey, loader, options))
    } catch (error) {
      loaded()
      if (lease !== undefined) h.store.release(h.keys.lease(entryKey), lease).catch(() => {})
      throw error
    }
    loaded()
    const store =
      !frame.unsafe &&
      !frame.fenced &&
      read.generation !== '' &&
      (value !== undefined || options.cacheUndefined)
    const stored = store
      ? await this.#write(entryKey, frame, read.generation, value, options, seq, lease)
      : false
    if (!stored && !store && lease !== undefined)
      h.store.release(h.keys.lease(entryKey), lease).catch(() => {})
    return {
      value,
      stored,
      baseline: new Map([...frame.tokens, ...frame.counters]),
      unsafe: frame.unsafe || frame.fenced,
    }
  }

  /** Compare-and-set; store trouble is reported, never thrown. Releases the lease in the same call. */
  async #write(
    entryKey: string,
    frame: ReadFrame,
    generation: string,
    value: unknown,
    options: Resolved,
    seq: number,
    lease: string | undefined,
  ): Promise<boolean> {
    const h = this.#h
    if (h.bumper.owes(frame.keys)) {
      if (lease !== undefined) h.store.release(h.keys.lease(entryKey), lease).catch(() => {})
      return false
    }
    let payload: string
    try {
      payload = h.serializer.serialize(value)
    } catch (error) {
      h.reporter.problem('serialize', error, 'a value could not be serialized and was not cached')
      if (lease !== undefined) h.store.release(h.keys.lease(entryKey), lease).catch(() => {})
      return false
    }
    this.#registerVersion()
    const freshUntil = Date.now() + options.ttl * 1000
    const keys = [...frame.keys]
    const fences = [...frame.fences]
    const schemes = [...frame.schemes.values()]
    try {
      const ok = await h.store.write({
        entry: entryKey,
        expect: { keys: [...frame.tokens.keys()], tokens: [...frame.tokens.values()] },
        counters: { keys: [...frame.counters.keys()], values: [...frame.counters.values()] },
        keys,
        fences,
        generation,
        freshUntil,
        payload,
        ttlMs: Math.ceil((options.ttl + options.swr) * 1000),
        tokenTtl: h.tokenTtl,
        ...(schemes.length > 0 ? { schemes: schemes.map(({ scheme: _, ...r }) => r) } : {}),
        ...(lease !== undefined ? { lease: { key: h.keys.lease(entryKey), owner: lease } } : {}),
      })
      if (ok) {
        h.stats.fills++
        for (const s of schemes) h.planner.registered(s.hash, s.scheme)
        this.#remember(entryKey, fences)
        if (h.near && !this.#h.currentTransaction())
          h.near.put(entryKey, value, keys, freshUntil, payload.length, seq)
      } else h.stats.fillsRefused++
      return ok
    } catch (error) {
      h.reporter.store('write', error)
      return false
    }
  }

  #registerVersion(): void {
    if (this.#versionRegistered) return
    this.#versionRegistered = true
    const h = this.#h
    h.store.register(h.keys.versions, h.version).catch((e) => {
      this.#versionRegistered = false
      h.reporter.store('register', e)
    })
  }

  async #run<T>(entryKey: string, loader: Loader<T>, options: Resolved): Promise<T> {
    const h = this.#h
    const started = performance.now()
    h.stats.loads++
    const controller = new AbortController()
    const outer = options.signal
    let timer: NodeJS.Timeout | undefined
    const abort = () => controller.abort(outer?.reason)
    try {
      if (outer?.aborted) throw outer.reason ?? new DOMException('aborted', 'AbortError')
      outer?.addEventListener('abort', abort, { once: true })
      const running = Promise.resolve().then(() => loader({ signal: controller.signal }))
      const guards: Promise<never>[] = []
      if (options.timeoutMs !== undefined) {
        guards.push(
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              const error = new LoaderTimeoutError(entryKey, options.timeoutMs!)
              controller.abort(error)
              reject(error)
            }, options.timeoutMs)
          }),
        )
      }
      if (outer) {
        guards.push(
          new Promise<never>((_, reject) => {
            controller.signal.addEventListener('abort', () => reject(controller.signal.reason), {
              once: true,
            })
          }),
        )
      }
      const value = guards.length > 0 ? await Promise.race([running, ...guards]) : await running
      emit('load', () => ({ namespace: h.namespace, key: entryKey, durationMs: performance.now() - started }))
      return value
    } catch (error) {
      h.stats.loadErrors++
      emit('load', () => ({
        namespace: h.namespace,
        key: entryKey,
        durationMs: performance.now() - started,
        error,
      }))
      throw error
    } finally {
      if (timer) clearTimeout(timer)
      outer?.removeEventListener('abort', abort)
    }
  }

  #track(p: Promise<unknown>): void {
    this.#background.add(p)
    p.finally(() => this.#background.delete(p))
  }

  /** Resolves when background refreshes (stale-while-revalidate) have settled. */
  async idle(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background])
  }

  // ---------------------------------------------------------------- result caches

  /**
   * One round trip for a result cache: the fresh value under `entryKey` (a hit), or a ticket for
   * {@link fill}. `declared` and the fences of `tables` (known before the query runs) are read
   * with it, so the fill can compare-and-set against them.
   */
  async lookup(
    entryKey: string,
    declared: readonly string[],
    tables: readonly string[],
  ): Promise<{ hit: true; value: unknown } | { hit: false; ticket: FillTicket | undefined }> {
    const h = this.#h
    const tx = h.currentTransaction()
    const fences = tables.map((t) => h.keys.counter(t))
    const touched = [...declared, ...tables.map((t) => h.keys.table(t))]
    if (tx?.touches(touched) || h.bumper.owes(touched)) {
      h.stats.bypasses++
      return { hit: false, ticket: undefined }
    }
    const near = h.near
    if (near && !tx && !this.frames.getStore()) {
      const slot = near.get(entryKey, Date.now())
      if (slot) {
        h.stats.hits++
        h.stats.nearHits++
        emit('hit', () => ({ namespace: h.namespace, key: entryKey }))
        return { hit: true, value: slot.value }
      }
    }
    const asked: Asked = {
      keys: declared,
      counters: [...new Set([...fences, ...(this.#shapes.get(entryKey) ?? [])])],
    }
    const seq = near?.seq ?? 0
    let read: ReadResult
    try {
      read = await h.store.read({
        entry: entryKey,
        keys: asked.keys,
        counters: asked.counters,
        ttl: h.tokenTtl,
      })
    } catch (error) {
      h.reporter.store('read', error)
      h.stats.bypasses++
      return { hit: false, ticket: undefined }
    }
    const entry = read.entry
    const parent = this.frames.getStore()
    if (
      entry &&
      !tx?.touches(entry.keys) &&
      valid(entry, read, declared) &&
      entry.freshUntil > Date.now() &&
      !h.bumper.owes(entry.keys)
    ) {
      return { hit: true, value: this.#hit(entryKey, entry, read, parent, tx, seq) }
    }
    h.stats.misses++
    emit('miss', () => ({ namespace: h.namespace, key: entryKey }))
    if (tx) return { hit: false, ticket: undefined }
    const frame = this.#newFrame(read, asked, parent)
    for (const k of declared) frame.keys.add(k)
    for (const f of fences) frame.fences.add(f)
    return { hit: false, ticket: { entry: entryKey, frame, generation: read.generation, declared, seq } }
  }

  /** Stores a result loaded after {@link lookup}, with the reads the query made. Resolves to true when stored. */
  async fill(
    ticket: FillTicket,
    value: unknown,
    records: readonly ReadRecord[],
    options: Resolved,
  ): Promise<boolean> {
    if (this.#h.currentTransaction()) return false
    for (const r of records) ticket.frame.read(r)
    if (ticket.frame.unsafe || ticket.frame.fenced) {
      this.#h.stats.fillsRefused++
      return false
    }
    return this.#write(ticket.entry, ticket.frame, ticket.generation, value, options, ticket.seq, undefined)
  }

  // ---------------------------------------------------------------- user keys

  /** The fresh value under an entry key, or undefined. */
  async get(entryKey: string): Promise<{ found: boolean; value?: unknown }> {
    const h = this.#h
    const read = await h.store.read({ entry: entryKey, keys: [], ttl: h.tokenTtl })
    const e = read.entry
    if (e && valid(e, read, []) && e.freshUntil > Date.now() && !h.bumper.owes(e.keys))
      return { found: true, value: h.serializer.deserialize(e.payload) }
    return { found: false }
  }

  /** Stores under an entry key with declared dependencies (and a snapshot taken before the load, if any). */
  async set(
    entryKey: string,
    value: unknown,
    declared: readonly string[],
    snapshot: TokenSnapshot | undefined,
    options: Resolved,
  ): Promise<boolean> {
    const h = this.#h
    const payload = h.serializer.serialize(value)
    if (snapshot && declared.some((k) => !snapshot.keys.includes(k)))
      throw new ConfigError('the snapshot was taken for other dependencies than `deps`')
    if (h.currentTransaction()) return false
    let base: TokenSnapshot
    if (snapshot) base = snapshot
    else {
      const read = await h.store.tokens(declared, h.tokenTtl)
      base = { keys: declared, tokens: read.tokens, generation: read.generation }
    }
    if (base.tokens.some(isFenced)) return false
    this.#registerVersion()
    return h.store.write({
      entry: entryKey,
      expect: { keys: base.keys, tokens: base.tokens },
      counters: { keys: [], values: [] },
      keys: declared,
      fences: [],
      generation: base.generation,
      freshUntil: Date.now() + options.ttl * 1000,
      payload,
      ttlMs: Math.ceil((options.ttl + options.swr) * 1000),
      tokenTtl: h.tokenTtl,
    })
  }

  /** Drops an entry in this process's near cache (its store copy is deleted by the caller). */
  forget(entryKey: string): void {
    this.#h.near?.dropEntry(entryKey)
  }
}

/** An entry is valid when it was stored under this generation, every token is current and it covers the declared keys. */
function valid(entry: StoredEntry, read: ReadResult, declared: readonly string[]): boolean {
  if (entry.generation !== read.generation || read.generation === '') return false
  const cur = read.current
  for (let i = 0; i < entry.keys.length; i++) if (cur.get(entry.keys[i]!) !== entry.tokens[i]) return false
  if (declared.length > 0) {
    for (const k of declared) if (!entry.keys.includes(k)) return false
  }
  return true
}

/** A caller may take another caller's load if it was stored, or if it read exactly what this caller read. */
function joinable(outcome: Outcome, read: ReadResult): boolean {
  if (outcome.stored) return true
  if (outcome.unsafe) return false
  for (const [k, t] of outcome.baseline) {
    if (isFenced(t) || read.current.get(k) !== t) return false
  }
  return true
}

const NONE: readonly string[] = Object.freeze([])
const EMPTY: Outcome = { value: undefined, stored: false, baseline: new Map(), unsafe: true }
const noop = () => {}
