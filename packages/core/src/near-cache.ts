/** Options of the opt-in near cache (`createFreshkey({ nearCache })`). */
export interface NearCacheOptions {
  /** Most entries kept in process memory (least recently used go first). */
  maxEntries: number
  /** maxBytes: most payload bytes kept (measured as serialized length). Default: unbounded. */
  maxBytes?: number
  /** heartbeatMs: milliseconds between pings this process sends itself through the bump channel. Default 1000. */
  heartbeatMs?: number
  /** maxLagMs: milliseconds a ping (or bump message) may take before the near cache empties itself and stops serving. Default 2000. */
  maxLagMs?: number
}

interface Slot {
  value: unknown
  keys: readonly string[]
  freshUntil: number
  bytes: number
}

/** Bump messages on the channel: `#<sender> <sentAt ms>[ *]` then one token key per line. */
export function bumpMessage(sender: string, keys: Iterable<string>, all = false): string {
  let text = `#${sender} ${Date.now()}${all ? ' *' : ''}`
  for (const k of keys) text += `\n${k}`
  return text
}

/**
 * Hits kept in process memory, coherent through the bump channel: this process drops its own
 * entries before a write's call returns; other processes drop them when the bump message arrives.
 * While the subscription is down or lagging, it serves nothing (and holds nothing).
 *
 * A value is shared by every caller that hits it: treat cached values as read-only.
 */
export class NearCache {
  readonly #max: number
  readonly #maxBytes: number
  readonly #lru = new Map<string, Slot>()
  readonly #byKey = new Map<string, Set<string>>()
  readonly #recent: { seq: number; keys: Set<string> | '*' }[] = []
  #bytes = 0
  #seq = 0
  #live = false
  /** Drop delays (message sent → dropped here), for the staleness window in `stats()`. */
  readonly lags: number[] = []

  constructor(options: NearCacheOptions) {
    this.#max = options.maxEntries
    this.#maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY
  }

  get live(): boolean {
    return this.#live
  }

  get size(): number {
    return this.#lru.size
  }

  /** Marks the subscription up (serve) or down (empty and stop serving). */
  setLive(live: boolean): void {
    if (!live) this.clear()
    this.#live = live
  }

  /** A sequence number taken before a store read: `put` refuses an entry a bump overtook since. */
  get seq(): number {
    return this.#seq
  }

  get(entryKey: string, now: number): Slot | undefined {
    if (!this.#live) return undefined
    const slot = this.#lru.get(entryKey)
    if (!slot) return undefined
    if (slot.freshUntil <= now) {
      this.#remove(entryKey, slot)
      return undefined
    }
    this.#lru.delete(entryKey)
    this.#lru.set(entryKey, slot)
    return slot
  }

  put(
    entryKey: string,
    value: unknown,
    keys: readonly string[],
    freshUntil: number,
    bytes: number,
    seqAtRead: number,
  ): void {
    if (!this.#live || bytes > this.#maxBytes) return
    // A bump message that arrived after the read was sent may be about this very entry.
    if (this.#recent.length > 0 && this.#recent[0]!.seq > seqAtRead + 1) return
    for (let i = this.#recent.length - 1; i >= 0 && this.#recent[i]!.seq > seqAtRead; i--) {
      const r = this.#recent[i]!.keys
      if (r === '*' || keys.some((k) => r.has(k))) return
    }
    const old = this.#lru.get(entryKey)
    if (old) this.#remove(entryKey, old)
    const slot: Slot = { value, keys, freshUntil, bytes }
    this.#lru.set(entryKey, slot)
    this.#bytes += bytes
    for (const k of keys) {
      let set = this.#byKey.get(k)
      if (!set) {
        set = new Set()
        this.#byKey.set(k, set)
      }
      set.add(entryKey)
    }
    while (this.#lru.size > this.#max || this.#bytes > this.#maxBytes) {
      const [first, s] = this.#lru.entries().next().value as [string, Slot]
      this.#remove(first, s)
    }
  }

  /** Drops every entry that depends on one of these token keys. */
  drop(keys: Iterable<string>): void {
    const set = new Set<string>()
    for (const k of keys) {
      set.add(k)
      const entries = this.#byKey.get(k)
      if (!entries) continue
      for (const e of [...entries]) {
        const slot = this.#lru.get(e)
        if (slot) this.#remove(e, slot)
      }
    }
    this.#remember(set)
  }

  /** Handles a message from the bump channel; returns true when it was this sender's ping. */
  message(text: string, sender: string): { ping: boolean } {
    const nl = text.indexOf('\n')
    const head = nl < 0 ? text : text.slice(0, nl)
    let ping = false
    if (head.startsWith('#')) {
      const [from, at, flag] = head.slice(1).split(' ')
      const sentAt = Number(at)
      if (Number.isFinite(sentAt)) this.#lag(Date.now() - sentAt)
      if (flag === '*') {
        this.clear()
        this.#recent.push({ seq: ++this.#seq, keys: '*' })
        return { ping: false }
      }
      ping = from === sender && nl < 0
    }
    if (nl >= 0) this.drop(text.slice(nl + 1).split('\n'))
    return { ping }
  }

  /** Drops one entry (deleted by its key). */
  dropEntry(entryKey: string): void {
    const slot = this.#lru.get(entryKey)
    if (slot) this.#remove(entryKey, slot)
  }

  clear(): void {
    this.#lru.clear()
    this.#byKey.clear()
    this.#bytes = 0
    this.#remember('*')
  }

  #remember(keys: Set<string> | '*'): void {
    this.#recent.push({ seq: ++this.#seq, keys })
    if (this.#recent.length > 256) this.#recent.splice(0, this.#recent.length - 256)
  }

  #lag(ms: number): void {
    if (this.lags.length >= 10_000) this.lags.splice(0, 5000)
    this.lags.push(Math.max(0, ms))
  }

  #remove(entryKey: string, slot: Slot): void {
    this.#lru.delete(entryKey)
    this.#bytes -= slot.bytes
    for (const k of slot.keys) {
      const set = this.#byKey.get(k)
      if (!set) continue
      set.delete(entryKey)
      if (set.size === 0) this.#byKey.delete(k)
    }
  }
}
