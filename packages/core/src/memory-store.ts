import type {
  BumpRequest,
  BumpResult,
  LiftRequest,
  ReadRequest,
  ReadResult,
  SchemeLocation,
  SchemeSet,
  Store,
  StoreCheck,
  StoredEntry,
  TokenRead,
  WriteRequest,
} from './store.ts'
import { fencedToken, isFenced, newNonce, newToken, ownFence, parseFences, tokenSeq } from './token.ts'

/** The hash tag of a key (its group), or the key itself when it has none. */
function groupOf(key: string): string {
  const open = key.indexOf('{')
  const close = open < 0 ? -1 : key.indexOf('}', open + 1)
  return close > open + 1 ? key.slice(open + 1, close) : key
}

/** Scheme keys and bump counters are not tokens: `invalidateAll` leaves them alone. */
const NOT_A_TOKEN = /\}:(?:n|q|qv)$/

interface Slot {
  value: string | StoredEntry | Map<string, string>
  expiresAt: number
}

/**
 * In-process store: the embedded default, correct for one process. Expired keys are dropped
 * lazily and by a periodic sweep, so memory stays bounded by the TTLs.
 */
export class MemoryStore implements Store {
  readonly #data = new Map<string, Slot>()
  readonly #sets = new Map<string, string[]>()
  readonly #listeners = new Map<string, Set<(message: string) => void>>()
  /** Bump counters: they never expire (a counter that restarted would make newer tokens look old). */
  readonly #counters = new Map<string, number>()
  /** The counter each scheme was registered under, by hash key and scheme id. */
  readonly #registered = new Map<string, number>()
  readonly #generation = `m${newNonce()}`
  #timer: NodeJS.Timeout | undefined

  constructor(options: { sweepInterval?: number } = {}) {
    const every = options.sweepInterval ?? 60_000
    if (every > 0) {
      this.#timer = setInterval(() => this.#sweep(), every)
      this.#timer.unref()
    }
  }

  /** Number of live keys (for tests and diagnostics). */
  get size(): number {
    this.#sweep()
    return this.#data.size
  }

  #sweep(): void {
    const now = Date.now()
    for (const [k, slot] of this.#data) if (slot.expiresAt <= now) this.#data.delete(k)
  }

  #get(key: string): Slot | undefined {
    const slot = this.#data.get(key)
    if (slot === undefined) return undefined
    if (slot.expiresAt <= Date.now()) {
      this.#data.delete(key)
      return undefined
    }
    return slot
  }

  #current(key: string): string | undefined {
    const v = this.#get(key)?.value
    return typeof v === 'string' ? v : undefined
  }

  /** Get-or-create; a fenced token keeps its own (short) expiry. */
  #token(key: string, ttl: number): string {
    const slot = this.#get(key)
    if (slot !== undefined && typeof slot.value === 'string') {
      // A refresh extends, never shortens: a caller with a short ttl must not expire shared tokens.
      if (!isFenced(slot.value)) slot.expiresAt = Math.max(slot.expiresAt, Date.now() + ttl * 1000)
      return slot.value
    }
    const token = newToken()
    this.#data.set(key, { value: token, expiresAt: Date.now() + ttl * 1000 })
    return token
  }

  generation(): string {
    return this.#generation
  }

  async tokens(keys: readonly string[], ttl: number): Promise<TokenRead> {
    return { tokens: keys.map((k) => this.#token(k, ttl)), generation: this.#generation }
  }

  async counters(keys: readonly string[]): Promise<string[]> {
    return keys.map((k) => String(this.#counters.get(k) ?? 0))
  }

  /** Increments the counters once each; returns the new value by group. */
  #increment(counters: readonly string[] | undefined): Map<string, number> {
    const byGroup = new Map<string, number>()
    for (const c of counters ?? []) {
      const n = (this.#counters.get(c) ?? 0) + 1
      this.#counters.set(c, n)
      byGroup.set(groupOf(c), n)
    }
    return byGroup
  }

  async read(request: ReadRequest): Promise<ReadResult> {
    const current = new Map<string, string>()
    for (const k of request.keys) current.set(k, this.#token(k, request.ttl))
    for (const c of request.counters ?? []) current.set(c, String(this.#counters.get(c) ?? 0))
    const slot = this.#get(request.entry)
    const entry =
      slot && typeof slot.value === 'object' && !(slot.value instanceof Map) ? slot.value : undefined
    if (entry) {
      for (const k of entry.keys) if (!current.has(k)) current.set(k, this.#token(k, request.ttl))
      for (const c of entry.fences) if (!current.has(c)) current.set(c, String(this.#counters.get(c) ?? 0))
    }
    let lease: string | undefined
    if (request.lease !== undefined && request.leaseMs !== undefined) {
      const hit =
        entry !== undefined &&
        entry.freshUntil > Date.now() &&
        entry.generation === this.#generation &&
        entry.keys.every((k, i) => current.get(k) === entry.tokens[i])
      if (!hit) lease = this.#acquire(request.lease, request.leaseMs)
    }
    return { ...(entry ? { entry } : {}), current, generation: this.#generation, ...(lease ? { lease } : {}) }
  }

  async write(request: WriteRequest): Promise<boolean> {
    try {
      if (request.generation !== this.#generation) return false
      const { keys: ek, tokens: et } = request.expect
      for (let i = 0; i < ek.length; i++) {
        const t = this.#current(ek[i]!)
        if (t === undefined || t !== et[i] || isFenced(t)) return false
      }
      const expected = new Map(ek.map((k, i) => [k, et[i]!]))
      const baseline = new Map<string, { key: string; value: number }>()
      const ck = request.counters?.keys ?? []
      ck.forEach((c, i) => {
        baseline.set(groupOf(c), { key: c, value: Number(request.counters!.values[i]) })
      })
      const tokens: string[] = []
      for (const k of request.keys) {
        const known = expected.get(k)
        const t = known ?? this.#token(k, request.tokenTtl)
        if (isFenced(t)) return false
        if (known === undefined) {
          // Found during the load: it must not have been bumped since the load began.
          const base = baseline.get(groupOf(k))
          if (!base || tokenSeq(t) > base.value) return false
        }
        tokens.push(t)
      }
      for (const s of request.schemes ?? []) {
        const base = baseline.get(groupOf(s.hash))
        if (!base) return false
        const hash = this.#get(s.hash)?.value
        const at = this.#registered.get(`${s.hash}\u0000${s.id}`)
        const known = hash instanceof Map && hash.has(s.id) && at !== undefined && at <= base.value
        // A scheme the table's writers may not have planned with: no write to the table since the load began.
        if (!known && (this.#counters.get(base.key) ?? 0) !== base.value) return false
      }
      for (const s of request.schemes ?? []) {
        let hash = this.#get(s.hash)?.value
        if (!(hash instanceof Map)) {
          hash = new Map()
          this.#data.set(s.hash, { value: hash, expiresAt: Date.now() + request.tokenTtl * 1000 })
        } else this.#get(s.hash)!.expiresAt = Date.now() + request.tokenTtl * 1000
        if (!hash.has(s.id)) {
          hash.set(s.id, s.meta)
          this.#registered.set(
            `${s.hash}\u0000${s.id}`,
            this.#counters.get(baseline.get(groupOf(s.hash))!.key) ?? 0,
          )
          const v = Number(this.#current(s.version) ?? '0') + 1
          this.#data.set(s.version, { value: String(v), expiresAt: Date.now() + request.tokenTtl * 1000 })
        }
      }
      const entry: StoredEntry = {
        keys: request.keys,
        tokens,
        fences: request.fences,
        freshUntil: request.freshUntil,
        generation: request.generation,
        payload: request.payload,
      }
      this.#data.set(request.entry, { value: entry, expiresAt: Date.now() + request.ttlMs })
      return true
    } finally {
      if (request.lease) this.#release(request.lease.key, request.lease.owner)
    }
  }

  async bump(request: BumpRequest): Promise<BumpResult> {
    const tokens: string[] = []
    const now = Date.now()
    const seq = this.#increment(request.counters)
    for (const k of request.keys) {
      const n = seq.get(groupOf(k))
      const fresh = n === undefined ? newToken() : `${newToken()}@${n}`
      const old = this.#get(k)
      const live = typeof old?.value === 'string' ? parseFences(old.value, now, old.expiresAt).deadlines : []
      // Fences stack (see fencedToken): a plain bump never ends another commit's fence.
      // Strictly after every live fence, so each commit's deadline names its own fence.
      if (request.fenceMs !== undefined) live.push(Math.max(now + request.fenceMs, (live.at(-1) ?? 0) + 1))
      const slot: Slot =
        live.length > 0
          ? { value: fencedToken(fresh, live), expiresAt: Math.max(...live) }
          : { value: fresh, expiresAt: now + request.ttl * 1000 }
      this.#data.set(k, slot)
      tokens.push(slot.value as string)
    }
    const schemes: SchemeSet[] = []
    for (const loc of request.schemes ?? []) {
      const current = this.#current(loc.version) ?? '0'
      if (current !== loc.known) schemes.push(this.#schemeSet({ hash: loc.hash, version: loc.version }))
    }
    if (request.channel !== undefined)
      this.publish(request.channel, request.message ?? request.keys.join('\n')).catch(() => {})
    return { tokens, generation: this.#generation, schemes }
  }

  async lift({ keys, tokens, ttl, counters }: LiftRequest): Promise<void> {
    const last: string[] = []
    const now = Date.now()
    keys.forEach((k, i) => {
      const slot = this.#get(k)
      const own = ownFence(tokens[i])
      if (typeof slot?.value !== 'string' || own === undefined || !isFenced(slot.value)) return
      const { deadlines, rest } = parseFences(slot.value, now, slot.expiresAt)
      const at = deadlines.indexOf(own)
      // A fence that already ended (its deadline passed) ends no other commit's fence.
      if (at >= 0) deadlines.splice(at, 1)
      if (deadlines.length === 0) last.push(k)
      else if (at >= 0)
        this.#data.set(k, { value: fencedToken(rest, deadlines), expiresAt: Math.max(...deadlines) })
    })
    const groups = new Set(last.map(groupOf))
    const seq = this.#increment((counters ?? []).filter((c) => groups.has(groupOf(c))))
    for (const k of last) {
      const n = seq.get(groupOf(k))
      this.#data.set(k, {
        value: n === undefined ? newToken() : `${newToken()}@${n}`,
        expiresAt: Date.now() + ttl * 1000,
      })
    }
  }

  #schemeSet(loc: SchemeLocation): SchemeSet {
    const hash = this.#get(loc.hash)?.value
    return {
      ...loc,
      current: this.#current(loc.version) ?? '0',
      schemes: hash instanceof Map ? new Map(hash) : new Map(),
    }
  }

  async schemes(locations: readonly SchemeLocation[]): Promise<SchemeSet[]> {
    return locations.map((loc) => this.#schemeSet(loc))
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.#data.delete(k)
  }

  async renewPrefixes(prefixes: readonly string[], ttl: number): Promise<number> {
    let n = 0
    const renewed = new Map<string, number>()
    for (const [k, slot] of [...this.#data]) {
      if (typeof slot.value !== 'string' || NOT_A_TOKEN.test(k) || slot.expiresAt <= Date.now()) continue
      if (isFenced(slot.value) || !prefixes.some((p) => k.startsWith(p))) continue
      const group = groupOf(k)
      const counter = `{${group}}:n`
      let seq = renewed.get(group)
      if (seq === undefined && this.#counters.has(counter)) {
        seq = this.#counters.get(counter)! + 1
        this.#counters.set(counter, seq)
        renewed.set(group, seq)
      }
      this.#data.set(k, {
        value: seq === undefined ? newToken() : `${newToken()}@${seq}`,
        expiresAt: Date.now() + ttl * 1000,
      })
      n++
    }
    return n
  }

  #acquire(key: string, ms: number): string | undefined {
    if (this.#get(key) !== undefined) return undefined
    const owner = newToken()
    this.#data.set(key, { value: owner, expiresAt: Date.now() + ms })
    return owner
  }

  #release(key: string, owner: string): void {
    if (this.#get(key)?.value === owner) this.#data.delete(key)
  }

  async acquire(key: string, ms: number): Promise<string | undefined> {
    return this.#acquire(key, ms)
  }

  async release(key: string, owner: string): Promise<void> {
    this.#release(key, owner)
  }

  async deletePrefix(prefix: string): Promise<number> {
    let n = 0
    const now = Date.now()
    for (const [k, slot] of [...this.#data]) {
      if (!k.startsWith(prefix)) continue
      this.#data.delete(k)
      if (slot.expiresAt > now) n++
    }
    return n
  }

  async getRaw(key: string): Promise<string | undefined> {
    return this.#current(key)
  }

  async setRaw(key: string, value: string, ttlMs?: number): Promise<void> {
    this.#data.set(key, {
      value,
      expiresAt: ttlMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + ttlMs,
    })
  }

  async register(key: string, member: string): Promise<string[]> {
    const list = this.#sets.get(key) ?? []
    if (!list.includes(member)) list.push(member)
    this.#sets.set(key, list)
    return [...list]
  }

  async unregister(key: string, member: string): Promise<void> {
    const list = this.#sets.get(key)
    if (list)
      this.#sets.set(
        key,
        list.filter((m) => m !== member),
      )
  }

  async publish(channel: string, message: string): Promise<void> {
    for (const fn of this.#listeners.get(channel) ?? []) queueMicrotask(() => fn(message))
  }

  async subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onState?: (live: boolean) => void,
  ): Promise<() => Promise<void>> {
    const set = this.#listeners.get(channel) ?? new Set()
    this.#listeners.set(channel, set)
    set.add(onMessage)
    onState?.(true)
    return async () => {
      set.delete(onMessage)
    }
  }

  async verify(): Promise<StoreCheck[]> {
    return [{ name: 'reachable', ok: true, message: 'in-process memory store (one process only)' }]
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
  }
}

/** The embedded default store: in-process, correct for one process. */
export function memoryStore(options?: { sweepInterval?: number }): MemoryStore {
  return new MemoryStore(options)
}
