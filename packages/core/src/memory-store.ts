import type { Store, StoredEntry, StoreRead } from './store.ts'
import { newToken } from './token.ts'

interface Slot {
  value: string | StoredEntry
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

  #token(key: string, ttl: number): string {
    const expiresAt = Date.now() + ttl * 1000
    const slot = this.#get(key)
    if (slot !== undefined && typeof slot.value === 'string') {
      slot.expiresAt = expiresAt
      return slot.value
    }
    const token = newToken()
    this.#data.set(key, { value: token, expiresAt })
    return token
  }

  async tokens(keys: readonly string[], ttl: number): Promise<string[]> {
    return keys.map((k) => this.#token(k, ttl))
  }

  async bump(keys: readonly string[], ttl: number, channel?: string): Promise<void> {
    const expiresAt = Date.now() + ttl * 1000
    for (const k of keys) this.#data.set(k, { value: newToken(), expiresAt })
    if (channel !== undefined) await this.publish(channel, keys.join('\n'))
  }

  #valid(entry: StoredEntry): boolean {
    return entry.tokenKeys.every((k, i) => {
      const slot = this.#get(k)
      return slot !== undefined && slot.value === entry.tokens[i]
    })
  }

  async read(entryKey: string, tokenKeys: readonly string[], ttl: number): Promise<StoreRead> {
    const tokens = tokenKeys.map((k) => this.#token(k, ttl))
    const slot = this.#get(entryKey)
    if (slot === undefined || typeof slot.value === 'string') return { tokens, valid: false }
    return { tokens, entry: slot.value, valid: this.#valid(slot.value) }
  }

  async write(entryKey: string, entry: StoredEntry, ttlMs: number): Promise<boolean> {
    if (!this.#valid(entry)) return false
    this.#data.set(entryKey, { value: entry, expiresAt: Date.now() + ttlMs })
    return true
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.#data.delete(k)
  }

  async acquire(key: string, ms: number): Promise<string | undefined> {
    if (this.#get(key) !== undefined) return undefined
    const owner = newToken()
    this.#data.set(key, { value: owner, expiresAt: Date.now() + ms })
    return owner
  }

  async release(key: string, owner: string): Promise<void> {
    if (this.#get(key)?.value === owner) this.#data.delete(key)
  }

  async deletePrefix(prefix: string): Promise<number> {
    let n = 0
    for (const k of [...this.#data.keys()]) {
      if (k.startsWith(prefix)) {
        this.#data.delete(k)
        n++
      }
    }
    return n
  }

  async getRaw(key: string): Promise<string | undefined> {
    const slot = this.#get(key)
    return slot !== undefined && typeof slot.value === 'string' ? slot.value : undefined
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

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>> {
    const set = this.#listeners.get(channel) ?? new Set()
    this.#listeners.set(channel, set)
    set.add(onMessage)
    return async () => {
      set.delete(onMessage)
    }
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
