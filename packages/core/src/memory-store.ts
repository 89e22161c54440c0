import type {
  BumpRequest,
  BumpResult,
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
import { fencedToken, isFenced, newNonce, newToken } from './token.ts'

/** Scheme versions (`…}:qv`) are counters, not tokens: `fencePrefixes` leaves them (and scheme hashes) alone. */
const SCHEME_KEY = /\}:qv?$/

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

  async read(request: ReadRequest): Promise<ReadResult> {
    const current = new Map<string, string>()
    for (const k of request.keys) current.set(k, this.#token(k, request.ttl))
    const slot = this.#get(request.entry)
    const entry =
      slot && typeof slot.value === 'object' && !(slot.value instanceof Map) ? slot.value : undefined
    if (entry) {
      for (const k of entry.keys) if (!current.has(k)) current.set(k, this.#token(k, request.ttl))
      for (const k of entry.fences) if (!current.has(k)) current.set(k, this.#token(k, request.ttl))
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
      const tokens: string[] = []
      for (const k of request.keys) {
        const t = expected.get(k) ?? this.#token(k, request.tokenTtl)
        if (isFenced(t)) return false
        tokens.push(t)
      }
      for (const s of request.schemes ?? []) {
        let hash = this.#get(s.hash)?.value
        if (!(hash instanceof Map)) {
          hash = new Map()
          this.#data.set(s.hash, { value: hash, expiresAt: Date.now() + request.tokenTtl * 1000 })
        } else this.#get(s.hash)!.expiresAt = Date.now() + request.tokenTtl * 1000
        if (!hash.has(s.id)) {
          hash.set(s.id, s.meta)
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
    const fenced = request.fenceMs !== undefined
    const expiresAt = Date.now() + (fenced ? request.fenceMs! : request.ttl * 1000)
    for (const k of request.keys) {
      const t = fenced ? fencedToken(newToken()) : newToken()
      this.#data.set(k, { value: t, expiresAt })
      tokens.push(t)
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

  async lift(keys: readonly string[], fenced: readonly string[], ttl: number): Promise<void> {
    keys.forEach((k, i) => {
      if (this.#current(k) === fenced[i])
        this.#data.set(k, { value: newToken(), expiresAt: Date.now() + ttl * 1000 })
    })
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

  async fencePrefixes(prefixes: readonly string[], fenceMs: number): Promise<number> {
    let n = 0
    const now = Date.now()
    for (const [k, slot] of [...this.#data]) {
      if (slot.expiresAt <= now) continue
      if (typeof slot.value !== 'string' || SCHEME_KEY.test(k) || !prefixes.some((p) => k.startsWith(p)))
        continue
      this.#data.set(k, { value: fencedToken(newToken()), expiresAt: Date.now() + fenceMs })
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
