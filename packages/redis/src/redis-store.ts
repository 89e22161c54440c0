import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { ConfigError, StoreUnavailableError } from '@freshkey/core'
import {
  type BumpRequest,
  type BumpResult,
  type LiftRequest,
  newToken,
  ownFence,
  type ReadRequest,
  type ReadResult,
  rememberText,
  type SchemeLocation,
  type SchemeSet,
  type Store,
  type StoreCheck,
  type StoredEntry,
  type TokenRead,
  type WriteRequest,
} from '@freshkey/core/adapter'
import type { RedisOptions } from 'ioredis'
import { verifyStore } from './checks.ts'
import {
  type Conn,
  checkMasterReads,
  createClient,
  type IoredisClient,
  isClient,
  type Pipe,
  type RedisClusterTarget,
} from './client.ts'
import { Deadlines, unavailable } from './deadline.ts'
import { decodeEntry, entryHead, entryTail } from './entry-codec.ts'
import { Identities } from './identity.ts'
import { liftArgs, placeOf, type QueuedLift, rideAlong } from './lifts.ts'
import { nonce } from './nonce.ts'
import { SCRIPTS } from './scripts.ts'
import { keySlot } from './slots.ts'
import { Subscriptions } from './subscriptions.ts'

/** Options of {@link redisStore}. */
export interface RedisStoreOptions {
  /** Prefix of every key this store writes. Default `'fk:'`. */
  prefix?: string
  /** timeout: milliseconds one store call may take before it fails with `StoreUnavailableError`. Default 1000. */
  timeout?: number
  /** Keys scanned and deleted per batch while purging or fencing. Default 500. */
  batchSize?: number
  /**
   * Durable bumps: after every bump (and delete, and `invalidateAll` fence), wait until this many
   * replicas acknowledged it (`WAIT`, in the same round trip); fewer is a failed bump. Default 0
   * (off). See the package README for what it buys and costs.
   */
  replicas?: number
  /** replicaTimeout: milliseconds `WAIT` waits for the replicas. Default min(500, timeout / 2). */
  replicaTimeout?: number
}

type ScriptName = keyof typeof SCRIPTS
type Names = Record<ScriptName, string>

/** Scheme keys and bump counters are not tokens: `renewPrefixes` leaves them alone. */
const NOT_A_TOKEN = /\}:(?:n|q|qv)$/

/** The hash tag of a key (its group), or undefined when it has none. */
function groupOf(key: string): string | undefined {
  const open = key.indexOf('{')
  const close = open < 0 ? -1 : key.indexOf('}', open + 1)
  return close > open + 1 ? key.slice(open + 1, close) : undefined
}

/** An entry's token keys and fences (unprefixed). */
interface Shape {
  readonly keys: readonly string[]
  readonly fences: readonly string[]
}

const isFenced = (t: string) => t.charCodeAt(0) === 126
/** A fresh valid hit, as READ judges one: this generation, still fresh, every token current. */
function isHit(entry: StoredEntry, current: ReadonlyMap<string, string>, g: string, now: number): boolean {
  if (g === '' || entry.generation !== g || !(entry.freshUntil > now)) return false
  for (let i = 0; i < entry.keys.length; i++)
    if (current.get(entry.keys[i]!) !== entry.tokens[i]) return false
  return true
}

const sameList = (a: readonly string[], b: readonly string[]) => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
const globEscape = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`)
/** How long a lift waits for this process's next read or bump to ride along with (standalone). */
const LIFT_DELAY_MS = 2
/** Prefixed token key names remembered, then forgotten at once. */
const FULL_KEYS = 100_000
/**
 * Script hits in a row before an entry is read by MGET alone. An entry that misses after every hit
 * (bumped between two reads) keeps the script, whose miss takes the lease in the same trip; one
 * read many times between bumps saves half the server CPU of each hit.
 */
const WARM_AFTER = 2
const HINTS = 100_000
const SHAPES = 10_000

function definedNames(client: Conn): Names {
  const names = {} as Names
  for (const [name, lua] of Object.entries(SCRIPTS) as [ScriptName, string][]) {
    const n = `fk2${name.toLowerCase()}_${createHash('sha1').update(lua).digest('hex').slice(0, 10)}`
    if (typeof client[n] !== 'function') client.defineCommand(n, { lua })
    names[name] = n
  }
  return names
}

/** Scheme id → description; `@<id>` fields (the counter each scheme was registered under) are the store's own. */
function schemeMap(flat: readonly string[]): Map<string, string> {
  const m = new Map<string, string>()
  for (let i = 0; i + 1 < flat.length; i += 2)
    if (flat[i]!.charCodeAt(0) !== 64) m.set(flat[i]!, flat[i + 1]!)
  return m
}

/** One slot's share of a call: the positions (in the caller's list) of its keys. */
type Groups = Map<number, number[]>

/**
 * A freshkey store on Redis through ioredis: standalone, Sentinel or Cluster (key layout 2).
 * Standalone, every operation is one script or one command; on a Cluster, work is split by slot
 * and the per-slot calls run in parallel (one round trip of latency), each atomic on its slot.
 * Token reads and compare-and-set only ever reach masters, and every result carries the
 * generation (server `run_id`) it was read under (see `docs/design.md`).
 */
export class RedisStore implements Store {
  /** The ioredis client (yours, or the one this store created). */
  readonly client: IoredisClient
  /** Prefix of every key. */
  readonly prefix: string
  /** Replicas every bump must reach (0: off). */
  readonly replicas: number
  readonly #c: Conn
  readonly #cluster: boolean
  readonly #owned: boolean
  readonly #batch: number
  readonly #replicaTimeout: number
  readonly #names: Names
  readonly #deadlines: Deadlines
  readonly #ids = new Identities()
  readonly #subs: Subscriptions
  /** When this process last refreshed the TTL of each token key (tokens) or entry's tokens (read). */
  readonly #refreshed = new Map<string, number>()
  /**
   * `prefix + key`, remembered: the core hands the same key strings to every read of a row, and
   * one prefixed string reused costs ioredis far less than a fresh one per call (it flattens each
   * to measure and write it).
   */
  readonly #full = rememberText((key) => this.prefix + key, 256, FULL_KEYS)
  #calls = 0
  /** Whether a generation was ever known (after that, an outage is not waited out). */
  #seen = false
  /** Cluster: the last token this process saw for each key, to judge entries on their own slot. */
  readonly #hints = new Map<string, string>()
  /** Cluster: the keys and fences each entry had when last seen, read beside it next time. */
  readonly #shapes = new Map<string, Shape>()
  /**
   * Standalone: entries read as fresh valid hits by the READ script, with their shape and how many
   * times in a row. From {@link WARM_AFTER} on, an entry is read with one MGET until it misses.
   */
  readonly #hot = new Map<string, { shape: Shape; hits: number }>()
  /** Standalone: lifts waiting to go out with this process's next read or bump, in the same write. */
  #lifts: QueuedLift[] = []
  #liftTimer: ReturnType<typeof setTimeout> | undefined
  readonly #onNode = (node: Conn) => this.#ids.watch(node)
  readonly #onRefresh = () => this.#learnMasters()

  /** Use {@link redisStore}. */
  constructor(client: IoredisClient, options: RedisStoreOptions & { owned?: boolean } = {}) {
    if (!isClient(client)) throw new ConfigError('RedisStore needs an ioredis Redis or Cluster client')
    const c = client as unknown as Conn
    checkMasterReads(c)
    const timeout = options.timeout ?? 1000
    const replicas = options.replicas ?? 0
    if (!Number.isInteger(replicas) || replicas < 0)
      throw new ConfigError('`replicas` must be a whole number ≥ 0')
    if (!(timeout > 0)) throw new ConfigError('`timeout` must be a positive number of milliseconds')
    this.client = client
    this.#c = c
    this.#cluster = c.isCluster === true
    this.prefix = options.prefix ?? 'fk:'
    this.replicas = replicas
    this.#owned = options.owned ?? false
    this.#batch = options.batchSize ?? 500
    this.#replicaTimeout = Math.max(1, Math.floor(options.replicaTimeout ?? Math.min(500, timeout / 2)))
    // ioredis times a command only once it is sent: a call queued while reconnecting needs our watchdog.
    this.#deadlines = new Deadlines(timeout, true)
    this.#names = definedNames(c)
    if (this.#cluster && c.options.enableAutoPipelining) {
      // ioredis would route an auto-pipelined script by its key count: send the scripts on their own.
      const ignored: unknown = c.options.autoPipeliningIgnoredCommands
      const names = Object.values(this.#names)
      ;(c.options as Record<string, unknown>).autoPipeliningIgnoredCommands = [
        ...(Array.isArray(ignored) ? ignored : []),
        ...names,
      ]
    }
    this.#subs = new Subscriptions(c)
    if (this.#cluster) {
      for (const node of c.nodes('all')) this.#ids.watch(node)
      c.on('+node', this.#onNode)
      c.on('refresh', this.#onRefresh)
      c.on('ready', this.#onRefresh)
      this.#learnMasters()
    } else this.#ids.watch(c)
  }

  #learnMasters(): void {
    for (const node of this.#c.nodes('master')) {
      this.#ids.watch(node)
      // A master the Cluster client never used has no connection yet: open it to learn who it is.
      if (node.status === 'wait') node.connect?.().catch(() => {})
    }
  }

  // ---------------------------------------------------------------- plumbing

  #k(key: string): string {
    return this.prefix + key
  }

  #run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return this.#deadlines.run(operation, fn)
  }

  #slot(full: string): number {
    return this.#cluster ? keySlot(full) : 0
  }

  #group(full: readonly string[]): Groups {
    const groups: Groups = new Map()
    for (let i = 0; i < full.length; i++) {
      const s = this.#slot(full[i]!)
      let g = groups.get(s)
      if (!g) {
        g = []
        groups.set(s, g)
      }
      g.push(i)
    }
    return groups
  }

  /** The generation the store trusts now: the master's run id (Cluster: of every master), or '' when unknown. */
  #gen(): string {
    if (!this.#cluster) return this.#ids.of(this.#c) ?? ''
    const masters = this.#c.nodes('master')
    if (masters.length === 0) return ''
    const ids: string[] = []
    for (const m of masters) {
      const id = this.#ids.of(m)
      if (id === undefined) {
        if (m.status === 'wait') m.connect?.().catch(() => {})
        return ''
      }
      ids.push(id)
    }
    return this.#ids.combine(ids)
  }

  /** Token reads never go to replicas (DESIGN rule 9): a standalone client that reached one fails. */
  #master(operation: string): void {
    if (!this.#cluster && this.#ids.replica(this.#c))
      throw new StoreUnavailableError(
        `redis ${operation} refused: the server is a replica (its tokens can be older than the last bump); connect to the master`,
      )
  }

  /**
   * The generation, waiting (a bounded time) while it is being learned: right after a connect the
   * server's identity is one INFO away, and a call that went ahead could store nothing.
   */
  async #settled(): Promise<string> {
    let g = this.#gen()
    if (g !== '') {
      this.#seen = true
      return g
    }
    const nodes = this.#cluster ? this.#c.nodes('master') : [this.#c]
    // During an outage a call fails fast as before: only a first connect, or an identity being
    // asked right now, is worth waiting for.
    if (this.#seen && nodes.every((n) => n.status !== 'ready')) return g
    const deadline = Date.now() + this.#deadlines.timeout
    while (g === '' && Date.now() < deadline) {
      const asking = nodes.map((n) => this.#ids.nudge(n)).filter((p) => p !== undefined)
      await (asking.length > 0 ? Promise.race([Promise.all(asking), sleep(50)]) : sleep(5))
      g = this.#gen()
    }
    if (g !== '') this.#seen = true
    return g
  }

  /** The generation when it is known now (the hot path: no wait, no promise), else undefined. */
  #known(): string | undefined {
    const g = this.#gen()
    if (g === '') return undefined
    this.#seen = true
    return g
  }

  /** A result read under `before` counts only if the connections did not change meanwhile. */
  #after(before: string): string {
    return before !== '' && this.#gen() === before ? before : ''
  }

  #hint(full: string, token: string): void {
    if (!this.#cluster) return
    if (this.#hints.size >= HINTS) this.#hints.clear()
    this.#hints.set(full, token)
  }

  /**
   * TTL refreshes are checked on one call in 16 when the TTL is long (a key read that often is
   * refreshed well before it expires; one read less often only risks a miss, never a stale value):
   * the per-key bookkeeping stays off most hot-path calls.
   */
  #sample(ttl: number): boolean {
    return ttl <= 60 || (++this.#calls & 15) === 0
  }

  #due(key: string, ttl: number, now: number): boolean {
    const last = this.#refreshed.get(key)
    if (last !== undefined && last + ttl * 250 > now) return false
    if (this.#refreshed.size >= 100_000) this.#refreshed.clear()
    this.#refreshed.set(key, now)
    return true
  }

  /** Refreshes TTLs of unfenced tokens off the hot path, at most every ttl/4 per key, never shortening one. */
  #refresh(full: readonly string[], tokens: readonly (string | null)[], ttl: number): void {
    const now = Date.now()
    let due: string[] | undefined
    for (let i = 0; i < full.length; i++) {
      const t = tokens[i]
      if (!t || isFenced(t) || !this.#due(full[i]!, ttl, now)) continue
      due ??= []
      due.push(full[i]!)
    }
    if (!due) return
    const list = due
    for (const [, idx] of this.#group(list)) {
      const keys = idx.map((i) => list[i]!)
      this.#call(this.#names.REFRESH, [keys.length, ...keys, Math.ceil(ttl)]).catch(() => {})
    }
  }

  /** WAIT for the configured replicas after a write, in the same pipeline; a shortfall fails the call. */
  #waitFor(pipe: Pipe): void {
    if (this.replicas > 0) pipe.wait(this.replicas, this.#replicaTimeout)
  }

  #checkWait(operation: string, result: [Error | null, unknown] | undefined): void {
    if (this.replicas === 0) return
    if (!result) throw unavailable(operation, new Error('no WAIT reply'))
    if (result[0]) throw unavailable(operation, result[0])
    const acked = Number(result[1])
    if (acked < this.replicas)
      throw new StoreUnavailableError(
        `redis ${operation} reached ${acked} of ${this.replicas} replicas within ${this.#replicaTimeout} ms: not durable`,
      )
  }

  async #exec(operation: string, pipe: { exec(): Promise<[Error | null, unknown][] | null> }) {
    const results = await pipe.exec()
    if (!results) throw unavailable(operation, new Error('pipeline aborted'))
    return results
  }

  // A lift is not urgent for other processes (until it lands they only miss), but it must reach
  // the server before this process's next read, so that read can store. Socket writes are what a
  // commit costs here, so a lift waits up to LIFT_DELAY_MS for the next read (a LIFT ahead of it in
  // the same write) or bump (inside its BUMP script, see `bump`).

  #queueLift(lift: Omit<QueuedLift, 'done'>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#lifts.push({ ...lift, done: (e) => (e ? reject(e) : resolve()) })
      this.#liftTimer ??= setTimeout(() => this.#flushLifts(), LIFT_DELAY_MS)
    })
  }

  /** Takes the queued lifts (all, or those `keep` accepts). */
  #take(keep?: (lift: QueuedLift) => boolean): QueuedLift[] {
    const taken = keep ? this.#lifts.filter(keep) : this.#lifts
    this.#lifts = keep ? this.#lifts.filter((l) => !keep(l)) : []
    if (this.#lifts.length === 0 && this.#liftTimer !== undefined) {
      clearTimeout(this.#liftTimer)
      this.#liftTimer = undefined
    }
    return taken
  }

  /** Moves the queued lifts into `pipe`, one LIFT each. */
  #takeLifts(pipe: Pipe): void {
    for (const lift of this.#take()) pipe[this.#names.LIFT](...liftArgs(lift), lift.done)
  }

  #flushLifts(): void {
    if (this.#lifts.length === 0) return
    const pipe = this.#c.pipeline()
    this.#takeLifts(pipe)
    pipe.exec().catch(() => {}) // each lift hears of its own error through its callback
  }

  /** Sends one command, with any queued lifts ahead of it in the same write. */
  #call<T>(command: string, args: readonly unknown[]): Promise<T> {
    if (this.#lifts.length === 0) return this.#c[command](...args)
    const pipe = this.#c.pipeline()
    this.#takeLifts(pipe)
    const reply = new Promise<T>((resolve, reject) => {
      pipe[command](...args, (error: Error | null, r: T) => (error ? reject(error) : resolve(r)))
    })
    pipe.exec().catch(() => {})
    return reply
  }

  // ---------------------------------------------------------------- tokens

  /** Hot path: one MGET per slot; the get-or-create script only for missing tokens. */
  async tokens(keys: readonly string[], ttl: number): Promise<TokenRead> {
    this.#master('tokens')
    const g = this.#known() ?? (await this.#settled())
    if (keys.length === 0) return { tokens: [], generation: g }
    const full = new Array<string>(keys.length)
    for (let i = 0; i < keys.length; i++) full[i] = this.#full(keys[i]!)
    if (!this.#cluster) {
      const found: (string | null)[] = await this.#run('tokens', () => this.#call('mget', full))
      let complete = true
      for (let i = 0; i < found.length; i++) if (found[i] === null) complete = false
      if (complete) {
        if (this.#sample(ttl)) this.#refresh(full, found, ttl)
        return { tokens: found as string[], generation: this.#after(g) }
      }
      const made: string[] = await this.#run('tokens', () =>
        this.#call(this.#names.TOKENS, [full.length, ...full, Math.ceil(ttl), nonce()]),
      )
      return { tokens: made, generation: this.#after(g) }
    }
    const tokens: string[] = new Array(full.length)
    await Promise.all(
      [...this.#group(full)].map(async ([, idx]) => {
        const keysOf = idx.map((i) => full[i]!)
        const found: (string | null)[] = await this.#run('tokens', () => this.#call('mget', keysOf))
        const complete = await this.#complete('tokens', keysOf, found, ttl)
        complete.forEach((t, j) => {
          tokens[idx[j]!] = t
        })
      }),
    )
    for (let i = 0; i < full.length; i++) this.#hint(full[i]!, tokens[i]!)
    return { tokens, generation: this.#after(g) }
  }

  /** Bump counters: one MGET per slot; missing ones are '0' and are not created. */
  async counters(keys: readonly string[]): Promise<string[]> {
    this.#master('counters')
    if (keys.length === 0) return []
    const full = keys.map((k) => this.prefix + k)
    const out = new Array<string>(keys.length)
    await Promise.all(
      [...this.#group(full)].map(async ([, idx]) => {
        const found: (string | null)[] = await this.#run('counters', () =>
          this.#call(
            'mget',
            idx.map((i) => full[i]!),
          ),
        )
        idx.forEach((i, j) => {
          out[i] = found[j] ?? '0'
        })
      }),
    )
    return out
  }

  // ---------------------------------------------------------------- read

  read(request: ReadRequest): Promise<ReadResult> {
    // Not async: the hot path's promise is #readOne's own, not one more wrapped around it.
    try {
      this.#master('read')
    } catch (error) {
      return Promise.reject(error)
    }
    return this.#cluster ? this.#readCluster(request) : this.#readOne(request)
  }

  #leaseArgs(request: ReadRequest, generation: string): { key: string; ms: string; owner: string } {
    if (request.lease === undefined || request.leaseMs === undefined)
      return { key: this.#k(request.entry), ms: '', owner: '' }
    return {
      key: this.#k(request.lease),
      ms: String(Math.ceil(request.leaseMs)),
      owner: `${generation}/${newToken()}`,
    }
  }

  /**
   * Standalone: a hot entry (see {@link WARM_AFTER}) is read with one MGET, no script; anything but
   * a fresh valid hit then, and every other read, runs the READ script, which reads the entry and
   * every token it needs and takes the lease on a miss.
   */
  async #readOne(request: ReadRequest): Promise<ReadResult> {
    const g = this.#known() ?? (await this.#settled())
    const now = Date.now()
    const hot = this.#hot.get(request.entry)
    if (hot !== undefined && hot.hits >= WARM_AFTER) {
      const warm = await this.#readWarm(request, hot.shape, g, now)
      if (warm !== undefined) return warm
      this.#hot.delete(request.entry)
    }
    const lease = this.#leaseArgs(request, g)
    const n = request.keys.length
    const counters = request.counters ?? []
    const keys = new Array<string>(n + counters.length + 2)
    keys[0] = this.prefix + request.entry
    keys[1] = lease.key
    for (let i = 0; i < n; i++) keys[i + 2] = this.prefix + request.keys[i]!
    for (let i = 0; i < counters.length; i++) keys[n + i + 2] = this.prefix + counters[i]!
    const refresh = this.#sample(request.ttl) && this.#due(request.entry, request.ttl, now) ? '1' : '0'
    const reply: [string[], string, string[] | 0, string[], number] = await this.#run('read', () =>
      this.#call(this.#names.READ, [
        keys.length,
        ...keys,
        Math.ceil(request.ttl),
        nonce(),
        g,
        now,
        lease.ms,
        lease.owner,
        refresh,
        this.prefix,
        'a',
        n,
      ]),
    )
    const [out, raw, xk, xt, taken] = reply
    const current = new Map<string, string>()
    for (let i = 0; i < n; i++) current.set(request.keys[i]!, out[i]!)
    for (let i = 0; i < counters.length; i++) current.set(counters[i]!, String(out[n + i]!))
    if (Array.isArray(xk)) for (let i = 0; i < xk.length; i++) current.set(xk[i]!, xt[i]!)
    const entry = raw === '' ? undefined : decodeEntry(raw)
    if (entry !== undefined && isHit(entry, current, g, now)) {
      if (hot === undefined && this.#hot.size >= SHAPES) this.#hot.clear()
      this.#hot.set(request.entry, { shape: entry, hits: (hot?.hits ?? 0) + 1 })
    } else if (hot !== undefined) this.#hot.delete(request.entry)
    const generation = this.#after(g)
    const result: { entry?: StoredEntry; current: Map<string, string>; generation: string; lease?: string } =
      {
        current,
        generation,
      }
    if (entry) result.entry = entry
    if (taken === 1) result.lease = lease.owner
    return result
  }

  /**
   * One MGET of the entry, the asked keys and counters, and the keys and fences the entry had last
   * time; judged here as READ judges a hit (the MGET is one atomic snapshot, like the script).
   * Undefined unless it is a fresh valid hit whose keys were all read and exist: the caller then
   * runs READ, which creates missing tokens and takes the lease.
   */
  async #readWarm(
    request: ReadRequest,
    shape: Shape,
    g: string,
    now: number,
  ): Promise<ReadResult | undefined> {
    if (g === '') return undefined
    const asked = request.keys
    const counters = request.counters ?? []
    let tokenKeys: readonly string[] = asked
    if (!sameList(shape.keys, asked)) {
      const set = new Set(asked)
      const more = shape.keys.filter((k) => !set.has(k))
      if (more.length > 0) tokenKeys = asked.concat(more)
    }
    let counterKeys: readonly string[] = counters
    if (shape.fences.length > 0 && !sameList(shape.fences, counters)) {
      const set = new Set(counters)
      const more = shape.fences.filter((k) => !set.has(k))
      if (more.length > 0) counterKeys = counters.concat(more)
    }
    const t = tokenKeys.length
    const full = new Array<string>(1 + t + counterKeys.length)
    full[0] = this.prefix + request.entry
    for (let i = 0; i < t; i++) full[i + 1] = this.prefix + tokenKeys[i]!
    for (let i = 0; i < counterKeys.length; i++) full[i + 1 + t] = this.prefix + counterKeys[i]!
    const got: (string | null)[] = await this.#run('read', () => this.#call('mget', full))
    const raw = got[0]
    if (raw === null || raw === undefined) return undefined
    const entry = decodeEntry(raw)
    if (entry === undefined) return undefined
    const current = new Map<string, string>()
    for (let i = 0; i < t; i++) {
      const v = got[i + 1]
      if (v === null || v === undefined) return undefined
      current.set(tokenKeys[i]!, v)
    }
    for (let i = 0; i < counterKeys.length; i++) current.set(counterKeys[i]!, got[i + 1 + t] ?? '0')
    if (!isHit(entry, current, g, now)) return undefined
    for (const f of entry.fences) if (!current.has(f)) return undefined
    if (this.#sample(request.ttl)) this.#refresh(full.slice(1, 1 + t), got.slice(1, 1 + t), request.ttl)
    return { entry, current, generation: this.#after(g) }
  }

  /**
   * Cluster: the entry's slot and every token slot in parallel. The entry's own keys are guessed
   * from the last time this process saw the entry, so a second round trip happens only when its
   * shape changed; the entry's slot judges the keys it cannot read by the tokens this process
   * saw last, and a wrong guess costs one more round trip to take the lease.
   */
  async #readCluster(request: ReadRequest): Promise<ReadResult> {
    const g = await this.#settled()
    const now = Date.now()
    const lease = this.#leaseArgs(request, g)
    const entryFull = this.#k(request.entry)
    const entrySlot = keySlot(entryFull)
    const shape = this.#shapes.get(request.entry)
    const tokenSet = new Set(request.keys)
    const counterSet = new Set(request.counters ?? [])
    if (shape) {
      for (const k of shape.keys) tokenSet.add(k)
      for (const k of shape.fences) counterSet.add(k)
    }
    const list = [...tokenSet]
    const clist = [...counterSet].filter((k) => !tokenSet.has(k))
    const full = list.map((k) => this.prefix + k)
    const cfull = clist.map((k) => this.prefix + k)
    const groups = this.#group(full)
    const cgroups = this.#group(cfull)
    const local = groups.get(entrySlot) ?? []
    const clocal = cgroups.get(entrySlot) ?? []
    groups.delete(entrySlot)
    cgroups.delete(entrySlot)
    const hints: string[] = []
    for (const [, idx] of groups) {
      for (const i of idx) {
        const h = this.#hints.get(full[i]!)
        if (h !== undefined) hints.push(list[i]!, h)
      }
    }
    const current = new Map<string, string>()
    const ttl = Math.ceil(request.ttl)
    const refresh = this.#sample(request.ttl) && this.#due(request.entry, request.ttl, now) ? '1' : '0'
    const localKeys = [...local.map((i) => full[i]!), ...clocal.map((i) => cfull[i]!)]
    const entryCall = this.#run('read', () =>
      this.#call(this.#names.READ, [
        localKeys.length + 2,
        entryFull,
        lease.key,
        ...localKeys,
        ttl,
        nonce(),
        g,
        now,
        lease.ms,
        lease.owner,
        refresh,
        this.prefix,
        'c',
        local.length,
        ...hints,
      ]),
    ) as Promise<[string[], string, string[], string[], number]>
    const others = [...groups.values()].map((idx) =>
      this.#tokensAt(
        idx.map((i) => list[i]!),
        request.ttl,
      ),
    )
    const counterReads = [...cgroups.values()].map(async (idx) => {
      const keys = idx.map((i) => clist[i]!)
      const values = await this.counters(keys)
      return keys.map((k, n) => [k, values[n]!] as [string, string])
    })
    const [reply, ...reads] = await Promise.all([entryCall, ...others, ...counterReads])
    const [out, raw] = reply
    let taken = reply[4]
    for (let j = 0; j < local.length; j++) current.set(list[local[j]!]!, out[j]!)
    for (let j = 0; j < clocal.length; j++) current.set(clist[clocal[j]!]!, String(out[local.length + j]!))
    for (const r of reads) for (const [k, t] of r) current.set(k, t)
    const entry = raw === '' ? undefined : decodeEntry(raw)
    if (entry) {
      this.#remember(request.entry, entry.keys, entry.fences)
      const missing = entry.keys.filter((k) => !current.has(k))
      const missingCounters = entry.fences.filter((k) => !current.has(k))
      const [more, values] = await Promise.all([
        missing.length > 0 ? this.#tokensRead([...new Set(missing)], request.ttl) : [],
        missingCounters.length > 0 ? this.counters(missingCounters) : [],
      ])
      for (const [k, t] of more) current.set(k, t)
      missingCounters.forEach((k, n) => {
        current.set(k, values[n]!)
      })
    }
    for (const k of list) {
      const t = current.get(k)
      if (t !== undefined) this.#hint(this.prefix + k, t)
    }
    const hit = entry !== undefined && isHit(entry, current, g, now)
    if (lease.ms !== '' && g !== '') {
      if (hit && taken === 1) {
        // Judged by an old hint: the entry is a hit after all; nobody needs this lease.
        this.#c[this.#names.RELEASE](1, lease.key, lease.owner).catch(() => {})
        taken = 0
      } else if (!hit && taken === 0) {
        taken = await this.#run('read', () =>
          this.#c[this.#names.LEASE](1, lease.key, lease.owner, lease.ms, g),
        )
      }
    }
    const result: { entry?: StoredEntry; current: Map<string, string>; generation: string; lease?: string } =
      {
        current,
        generation: this.#after(g),
      }
    if (entry) result.entry = entry
    if (taken === 1) result.lease = lease.owner
    return result
  }

  #remember(entry: string, keys: readonly string[], fences: readonly string[]): void {
    if (!this.#cluster) return
    if (this.#shapes.size >= SHAPES) this.#shapes.delete(this.#shapes.keys().next().value as string)
    this.#shapes.set(entry, { keys, fences })
  }

  /** Tokens of keys that share one slot: MGET, then get-or-create for the missing ones. */
  async #tokensAt(keys: readonly string[], ttl: number): Promise<[string, string][]> {
    const full = keys.map((k) => this.prefix + k)
    const found: (string | null)[] = await this.#run('read', () => this.#call('mget', full))
    const complete = await this.#complete('read', full, found, ttl)
    return complete.map((t, i) => [keys[i]!, t])
  }

  /** `found` (an MGET of `full`, one slot) with its missing tokens created by one TOKENS script; refreshes a sample's TTLs. */
  async #complete(
    op: string,
    full: readonly string[],
    found: readonly (string | null)[],
    ttl: number,
  ): Promise<string[]> {
    const out = found.slice() as string[]
    const missing: number[] = []
    found.forEach((t, i) => {
      if (t === null) missing.push(i)
    })
    if (this.#sample(ttl)) this.#refresh(full, found, ttl)
    if (missing.length > 0) {
      const mk = missing.map((i) => full[i]!)
      const made: string[] = await this.#run(op, () =>
        this.#call(this.#names.TOKENS, [mk.length, ...mk, Math.ceil(ttl), nonce()]),
      )
      missing.forEach((i, n) => {
        out[i] = made[n]!
      })
    }
    return out
  }

  async #tokensRead(keys: readonly string[], ttl: number): Promise<[string, string][]> {
    const full = keys.map((k) => this.prefix + k)
    const parts = await Promise.all(
      [...this.#group(full)].map(([, idx]) =>
        this.#tokensAt(
          idx.map((i) => keys[i]!),
          ttl,
        ),
      ),
    )
    return parts.flat()
  }

  // ---------------------------------------------------------------- write

  async write(request: WriteRequest): Promise<boolean> {
    const g = this.#gen()
    const leaseKey = request.lease ? this.#k(request.lease.key) : undefined
    if (request.generation === '' || g !== request.generation) {
      if (request.lease) await this.release(request.lease.key, request.lease.owner).catch(() => {})
      return false
    }
    for (const k of request.keys)
      if (k.includes('\n')) throw new ConfigError(`a token key contains a newline: ${k}`)
    const expected = new Map<string, string>()
    for (let i = 0; i < request.expect.keys.length; i++)
      expected.set(request.expect.keys[i]!, request.expect.tokens[i]!)
    const others: string[] = []
    for (const k of new Set(request.keys)) if (!expected.has(k)) others.push(k)
    // Bump counters read before the load, by group: a discovered key must not be newer.
    const baseline = new Map<string, { key: string; value: string }>()
    const ck = request.counters?.keys ?? []
    ck.forEach((k, i) => {
      const group = groupOf(k)
      if (group !== undefined) baseline.set(group, { key: k, value: request.counters!.values[i]! })
    })
    const baseOf = (k: string) => baseline.get(groupOf(k) ?? '\u0000')
    const schemeCounter = (hash: string) => baseOf(hash)
    if ((request.schemes ?? []).some((sc) => !schemeCounter(sc.hash))) {
      if (request.lease) await this.release(request.lease.key, request.lease.owner).catch(() => {})
      return false
    }
    const head = entryHead(request.freshUntil, request.generation, request.keys, request.fences.length)
    const tail = entryTail(request.fences, request.payload)
    const entryFull = this.#k(request.entry)
    const entrySlot = this.#slot(entryFull)
    const schemes = request.schemes ?? []
    // Per slot: which expected keys, other keys and schemes it holds.
    const bySlot = new Map<
      number,
      { expect: string[]; others: string[]; schemes: (typeof schemes)[number][] }
    >()
    const at = (slot: number) => {
      let s = bySlot.get(slot)
      if (!s) {
        s = { expect: [], others: [], schemes: [] }
        bySlot.set(slot, s)
      }
      return s
    }
    for (const k of expected.keys()) at(this.#slot(this.#k(k))).expect.push(k)
    for (const k of others) at(this.#slot(this.#k(k))).others.push(k)
    for (const s of schemes) at(this.#slot(this.#k(s.hash))).schemes.push(s)
    const resolved = new Map<string, string>()
    const remote = [...bySlot].filter(([slot]) => slot !== entrySlot)
    if (remote.length > 0) {
      // Phase 1 (Cluster): each token slot checks its expected tokens, reads its other keys and
      // registers its schemes, atomically on that slot. See docs/design.md for why the split is safe.
      let refused = false
      await Promise.all(
        remote.map(async ([, part]) => {
          const keys = [
            ...part.expect.map((k) => this.#k(k)),
            ...part.others.map((k) => this.#k(k)),
            ...part.schemes.flatMap((s) => [
              this.#k(s.hash),
              this.#k(s.version),
              this.#k(schemeCounter(s.hash)!.key),
            ]),
          ]
          const args = [
            Math.ceil(request.tokenTtl),
            nonce(),
            part.expect.length,
            part.others.length,
            part.schemes.length,
            ...part.expect.map((k) => expected.get(k)!),
            ...part.others.map((k) => baseOf(k)?.value ?? ''),
            ...part.schemes.flatMap((s) => [s.id, s.meta, schemeCounter(s.hash)!.value]),
          ]
          const reply: number | string[] = await this.#run('write', () =>
            this.#call(this.#names.CHECK, [keys.length, ...keys, ...args]),
          )
          if (!Array.isArray(reply)) {
            refused = true
            return
          }
          part.others.forEach((k, i) => {
            resolved.set(k, reply[i]!)
          })
        }),
      ).catch(async (error) => {
        if (request.lease) await this.release(request.lease.key, request.lease.owner).catch(() => {})
        throw error
      })
      if (refused || this.#gen() !== g) {
        if (request.lease) await this.release(request.lease.key, request.lease.owner).catch(() => {})
        return false
      }
    }
    // Phase 2 (standalone: the only one): the entry's slot checks its own keys and stores the entry.
    const local = bySlot.get(entrySlot) ?? { expect: [], others: [], schemes: [] }
    const localOther = new Map(local.others.map((k, j) => [k, j + 1]))
    const refs = request.keys.map((k) => {
      const e = expected.get(k)
      if (e !== undefined) return e
      const j = localOther.get(k)
      return j !== undefined ? `#${j}` : resolved.get(k)!
    })
    const keys = [
      entryFull,
      leaseKey ?? entryFull,
      ...local.expect.map((k) => this.#k(k)),
      ...local.others.map((k) => this.#k(k)),
      ...local.schemes.flatMap((s) => [
        this.#k(s.hash),
        this.#k(s.version),
        this.#k(schemeCounter(s.hash)!.key),
      ]),
    ]
    const ok: number = await this.#run('write', () =>
      this.#wrote(
        request,
        this.#call(this.#names.WRITE, [
          keys.length,
          ...keys,
          Math.max(1, Math.ceil(request.ttlMs)),
          Math.ceil(request.tokenTtl),
          nonce(),
          request.lease?.owner ?? '',
          head,
          tail,
          local.expect.length,
          local.others.length,
          local.schemes.length,
          ...local.expect.map((k) => expected.get(k)!),
          ...local.others.map((k) => baseOf(k)?.value ?? ''),
          ...local.schemes.flatMap((s) => [s.id, s.meta, schemeCounter(s.hash)!.value]),
          ...refs,
        ]),
      ),
    )
    if (ok !== 1 || this.#gen() !== g) return false
    this.#remember(request.entry, request.keys, request.fences)
    return true
  }

  /** A WRITE that failed (at maxmemory, its first SET) released nothing: release the lease (DEL is allowed there). */
  #wrote(request: WriteRequest, call: Promise<number>): Promise<number> {
    if (!request.lease) return call
    const { key, owner } = request.lease
    return call.catch(async (error) => {
      await this.#c[this.#names.RELEASE](1, this.#k(key), owner).catch(() => {})
      throw error
    })
  }

  // ---------------------------------------------------------------- bump, lift, delete, fence

  async bump(request: BumpRequest): Promise<BumpResult> {
    const g = await this.#settled()
    const full = request.keys.map((k) => this.prefix + k)
    const tokens: string[] = new Array(full.length)
    const fenced = request.fenceMs !== undefined
    const locations = request.schemes ?? []
    const groups = this.#group(full)
    const schemeGroups = new Map<number, number[]>()
    locations.forEach((loc, i) => {
      const s = this.#slot(this.#k(loc.version))
      let list = schemeGroups.get(s)
      if (!list) {
        list = []
        schemeGroups.set(s, list)
      }
      list.push(i)
      if (!groups.has(s)) groups.set(s, [])
    })
    const moved: SchemeSet[] = []
    const message = request.channel === undefined ? undefined : (request.message ?? request.keys.join('\n'))
    // Standalone, BUMP publishes the message itself; Cluster sends SPUBLISH to the channel's own slot.
    const publishHere = message !== undefined && !this.#cluster
    // Bump counters by group; each slot increments those of its groups.
    const counterOf = new Map<string, string>()
    for (const c of request.counters ?? []) {
      const group = groupOf(c)
      if (group !== undefined) counterOf.set(group, this.#k(c))
    }
    await Promise.all(
      [...groups].map(async ([slot, idx]) => {
        const n = nonce()
        const locs = schemeGroups.get(slot) ?? []
        const own = idx.map((i) => full[i]!)
        const counters: string[] = []
        const counterIdx = own.map((k) => {
          const c = counterOf.get(groupOf(k) ?? '\u0000')
          return c === undefined ? 0 : placeOf(counters, c)
        })
        // Standalone: the lifts waiting ride in the script itself (one GET and SET for a key both
        // lift and bump), so they cost the fence's reply no script of their own.
        const ttl = Math.ceil(request.ttl)
        const riding = this.#cluster ? [] : this.#take((l) => Math.ceil(l.ttl) === ttl)
        const ride = rideAlong(riding, own, counters)
        const keys = [
          ...own,
          ...counters,
          ...ride.keys,
          ...locs.flatMap((l) => [this.#k(locations[l]!.version), this.#k(locations[l]!.hash)]),
        ]
        const args = [
          ttl,
          n,
          fenced ? String(Math.max(1, Math.ceil(request.fenceMs!))) : '',
          own.length,
          counters.length,
          ride.keys.length,
          ...counterIdx,
          ...ride.ownEnds,
          ...ride.counterIdx,
          ...ride.ends,
          ...locs.map((l) => locations[l]!.known),
          ...(publishHere ? [this.#k(request.channel!), message] : []),
        ]
        // One command when nothing else must share the write (a pipeline costs the client more
        // than the script itself): no WAIT, no lift of another ttl still waiting.
        let reply: unknown
        let wait: [Error | null, unknown] | undefined
        // A lift that fails is not sent again: its fences expire by themselves (only needless
        // misses), while a lift sent twice could end a later fence given the same deadline.
        try {
          if (this.replicas === 0 && this.#lifts.length === 0) {
            reply = await this.#run('bump', () => this.#c[this.#names.BUMP](keys.length, ...keys, ...args))
          } else {
            const pipe = this.#c.pipeline()
            pipe[this.#names.BUMP](keys.length, ...keys, ...args)
            this.#waitFor(pipe)
            if (!this.#cluster) this.#takeLifts(pipe) // other ttls, after the bump's own replies
            const results = await this.#run('bump', () => this.#exec('bump', pipe))
            const [error, r] = results[0]!
            if (error) throw unavailable('bump', error)
            reply = r
            wait = results[1]
          }
        } catch (error) {
          for (const lift of riding) lift.done(error as Error)
          throw error
        }
        for (const lift of riding) lift.done(null)
        this.#checkWait('bump', wait)
        const [movedSets, written] = reply as [[number, string, string[]][], string[]]
        idx.forEach((i, j) => {
          tokens[i] = written[j]!
        })
        for (const [s, version, flat] of movedSets) {
          const loc = locations[locs[s - 1]!]!
          moved.push({ hash: loc.hash, version: loc.version, current: version, schemes: schemeMap(flat) })
        }
      }),
    )
    if (message !== undefined && this.#cluster) this.publish(request.channel!, message).catch(() => {})
    for (let i = 0; i < full.length; i++) this.#hint(full[i]!, tokens[i]!)
    return { tokens, generation: this.#after(g), schemes: moved }
  }

  async lift({ keys, tokens, ttl, counters }: LiftRequest): Promise<void> {
    if (keys.length === 0) return
    const full = keys.map((k) => this.prefix + k)
    const counterOf = new Map<string, string>()
    for (const c of counters ?? []) {
      const group = groupOf(c)
      if (group !== undefined) counterOf.set(group, this.#k(c))
    }
    await Promise.all(
      [...this.#group(full)].map(([, idx]) => {
        const lift = {
          keys: idx.map((i) => full[i]!),
          counters: idx.map((i) => counterOf.get(groupOf(full[i]!) ?? '\u0000')),
          ends: idx.map((i) => String(ownFence(tokens[i]) ?? '')),
          ttl,
        }
        return this.#run('lift', () =>
          this.#cluster ? this.#c[this.#names.LIFT](...liftArgs(lift)) : this.#queueLift(lift),
        )
      }),
    )
  }

  /** UNLINK works when the server refuses writes for memory: the fallback of a failed bump. */
  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return
    const full = keys.map((k) => this.prefix + k)
    await Promise.all(
      [...this.#group(full)].map(async ([, idx]) => {
        const pipe = this.#c.pipeline()
        pipe.unlink(...idx.map((i) => full[i]!))
        this.#waitFor(pipe)
        const results = await this.#run('delete', () => this.#exec('delete', pipe))
        if (results[0]![0]) throw unavailable('delete', results[0]![0])
        this.#checkWait('delete', results[1])
      }),
    )
  }

  #masters(): Conn[] {
    return this.#cluster ? this.#c.nodes('master') : [this.#c]
  }

  /** SCAN every master for keys under `prefix` (of type `type` when given), batch by batch. */
  async #scan(
    prefix: string,
    type: string | undefined,
    each: (keys: string[]) => Promise<void>,
  ): Promise<void> {
    const match = `${globEscape(this.#k(prefix))}*`
    for (const node of this.#masters()) {
      let cursor = '0'
      do {
        const args: (string | number)[] = [cursor, 'MATCH', match, 'COUNT', this.#batch]
        if (type !== undefined) args.push('TYPE', type)
        const [next, keys]: [string, string[]] = await this.#run('scan', () => node.scan(...args))
        cursor = next
        if (keys.length > 0) await each(keys)
      } while (cursor !== '0')
    }
  }

  async renewPrefixes(prefixes: readonly string[], ttl: number): Promise<number> {
    let renewed = 0
    for (const prefix of prefixes) {
      await this.#scan(prefix, 'string', async (found) => {
        // Scheme versions and bump counters are not tokens: they survive invalidateAll.
        const keys = found.filter((k) => !NOT_A_TOKEN.test(k))
        const counts = await Promise.all(
          [...this.#group(keys)].map(async ([, idx]) => {
            const counters: string[] = []
            const counterIdx = idx.map((i) => {
              const group = groupOf(keys[i]!)
              if (group === undefined) return 0
              const c = `${this.prefix}{${group}}:n`
              let at = counters.indexOf(c)
              if (at < 0) at = counters.push(c) - 1
              return at + 1
            })
            const pipe = this.#c.pipeline()
            pipe[this.#names.RENEW](
              idx.length + counters.length,
              ...idx.map((i) => keys[i]!),
              ...counters,
              Math.ceil(ttl),
              nonce(),
              idx.length,
              ...counterIdx,
            )
            this.#waitFor(pipe)
            const results = await this.#run('renew', () => this.#exec('renew', pipe))
            if (results[0]![0]) throw unavailable('renew', results[0]![0])
            this.#checkWait('renew', results[1])
            return Number(results[0]![1])
          }),
        )
        for (const c of counts) renewed += c
      })
    }
    return renewed
  }

  async deletePrefix(prefix: string): Promise<number> {
    let deleted = 0
    await this.#scan(prefix, undefined, async (keys) => {
      const counts = await Promise.all(
        [...this.#group(keys)].map(([, idx]) =>
          this.#run('unlink', () => this.#c.unlink(...idx.map((i) => keys[i]!)) as Promise<number>),
        ),
      )
      for (const c of counts) deleted += c
    })
    return deleted
  }

  async schemes(locations: readonly SchemeLocation[]): Promise<SchemeSet[]> {
    const out: SchemeSet[] = new Array(locations.length)
    const byVersion = locations.map((l) => this.#k(l.version))
    await Promise.all(
      [...this.#group(byVersion)].map(async ([, idx]) => {
        const keys = idx.flatMap((i) => [this.#k(locations[i]!.version), this.#k(locations[i]!.hash)])
        const reply: [string, string[]][] = await this.#run('schemes', () =>
          this.#call(this.#names.SCHEMES, [keys.length, ...keys]),
        )
        idx.forEach((i, j) => {
          const [current, flat] = reply[j]!
          out[i] = { ...locations[i]!, current, schemes: schemeMap(flat) }
        })
      }),
    )
    return out
  }

  // ---------------------------------------------------------------- leases, raw values, registry

  async acquire(key: string, ms: number): Promise<string | undefined> {
    const owner = newToken()
    const ok = await this.#run('acquire', () =>
      this.#c.set(this.#k(key), owner, 'PX', Math.max(1, Math.ceil(ms)), 'NX'),
    )
    return ok === 'OK' ? owner : undefined
  }

  async release(key: string, owner: string): Promise<void> {
    await this.#run('release', () => this.#c[this.#names.RELEASE](1, this.#k(key), owner))
  }

  async getRaw(key: string): Promise<string | undefined> {
    return (await this.#run('get', () => this.#c.get(this.#k(key)))) ?? undefined
  }

  async setRaw(key: string, value: string, ttlMs?: number): Promise<void> {
    await this.#run('set', () =>
      ttlMs === undefined
        ? this.#c.set(this.#k(key), value)
        : this.#c.set(this.#k(key), value, 'PX', Math.max(1, Math.ceil(ttlMs))),
    )
  }

  register(key: string, member: string): Promise<string[]> {
    return this.#run('register', () => this.#c[this.#names.REGISTER](1, this.#k(key), Date.now(), member))
  }

  async unregister(key: string, member: string): Promise<void> {
    await this.#run('unregister', () => this.#c.zrem(this.#k(key), member))
  }

  // ---------------------------------------------------------------- pub/sub, generation, checks

  /** Best effort: standalone PUBLISH, Cluster sharded SPUBLISH (Redis 7) to the channel's slot. */
  async publish(channel: string, message: string): Promise<void> {
    const full = this.#k(channel)
    await this.#run('publish', () =>
      this.#cluster ? this.#c.call('SPUBLISH', full, message) : this.#c.publish(full, message),
    )
  }

  subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onState?: (live: boolean) => void,
  ): Promise<() => Promise<void>> {
    return this.#run('subscribe', () => this.#subs.subscribe(this.#k(channel), onMessage, onState))
  }

  /** The generation the store trusts now (the master's run id; Cluster: every master's), or '' while unknown. */
  generation(): string {
    return this.#gen()
  }

  /** Waits until the generation is known (startup, tests); resolves to it, or '' after `ms`. */
  async ready(ms = 5000): Promise<string> {
    const deadline = Date.now() + ms
    for (;;) {
      const g = this.#gen()
      if (g !== '' || Date.now() > deadline) return g
      await new Promise((r) => setTimeout(r, 10))
    }
  }

  /** Checks reachability, ACL rights on keys, scripts, channels and commands, eviction policy, replicas. */
  verify(): Promise<StoreCheck[]> {
    return verifyStore({
      client: this.#c,
      masters: () => this.#masters(),
      prefix: this.prefix,
      probe: this.#names.PROBE,
      replicas: this.replicas,
      generation: () => this.#gen(),
      learn: (node) => this.#ids.learn(node),
      run: (op, fn) => this.#run(op, fn),
    })
  }

  async close(): Promise<void> {
    this.#flushLifts()
    this.#deadlines.stop()
    this.#subs.close()
    if (this.#cluster) {
      this.#c.off('+node', this.#onNode)
      this.#c.off('refresh', this.#onRefresh)
      this.#c.off('ready', this.#onRefresh)
    }
    if (this.#owned) {
      await Promise.race([this.#c.quit().catch(() => {}), new Promise((r) => setTimeout(r, 200).unref())])
      this.#c.disconnect()
    }
  }
}

/**
 * Where {@link redisStore} connects: an ioredis `Redis` or `Cluster` (any copy of ioredis 5.4+ or
 * 6), a `redis://`/`rediss://` URL, ioredis options (Sentinel included), or `{ cluster: nodes }`.
 */
export type RedisTarget = IoredisClient | string | RedisOptions | RedisClusterTarget

/**
 * Creates a Redis store. Given a client, uses it and leaves it open on `close()`; given a URL
 * (`rediss://` enables TLS), options or `{ cluster }`, creates its own; with nothing, reads
 * `REDIS_URL`. Throws `ConfigError` for a client or options that would read from replicas.
 */
export function redisStore(target?: RedisTarget, options: RedisStoreOptions = {}): RedisStore {
  if (isClient(target)) return new RedisStore(target, options)
  const client = createClient(
    target as string | RedisOptions | RedisClusterTarget | undefined,
    options.timeout ?? 1000,
  )
  try {
    return new RedisStore(client as unknown as IoredisClient, { ...options, owned: true })
  } catch (error) {
    client.disconnect()
    throw error
  }
}
