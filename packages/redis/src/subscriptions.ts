import type { Conn } from './client.ts'
import { keySlot } from './slots.ts'

interface Handler {
  readonly onMessage: (message: string) => void
  readonly onState: ((live: boolean) => void) | undefined
  live: boolean
}

/** One subscriber connection (to the server, or to one Cluster master) and its channels. */
class Link {
  readonly conn: Conn
  readonly sharded: boolean
  readonly channels = new Map<string, Set<Handler>>()
  #live = false
  #closed = false

  constructor(conn: Conn, sharded: boolean) {
    this.conn = conn
    this.sharded = sharded
    conn.on('error', () => {})
    conn.on(sharded ? 'smessage' : 'message', (channel: string, message: string) => {
      for (const h of this.channels.get(channel) ?? []) {
        try {
          h.onMessage(message)
        } catch {}
      }
    })
    conn.on('ready', () => {
      this.#resubscribe().catch(() => {})
    })
    conn.on('close', () => this.down())
  }

  get live(): boolean {
    return this.#live
  }

  get up(): boolean {
    return this.conn.status === 'ready'
  }

  async #resubscribe(): Promise<void> {
    const names = [...this.channels.keys()]
    if (names.length > 0) await this.conn[this.sharded ? 'ssubscribe' : 'subscribe'](...names)
    if (this.#closed || this.conn.status !== 'ready') return
    this.#live = true
    for (const set of this.channels.values()) for (const h of set) notify(h, true)
  }

  down(): void {
    this.#live = false
    for (const set of this.channels.values()) for (const h of set) notify(h, false)
  }

  async add(channel: string, h: Handler): Promise<void> {
    let set = this.channels.get(channel)
    if (!set) {
      set = new Set()
      this.channels.set(channel, set)
      set.add(h)
      if (this.conn.status === 'ready') {
        await this.conn[this.sharded ? 'ssubscribe' : 'subscribe'](channel)
        this.#live = true
      }
    } else set.add(h)
    if (this.#live) notify(h, true)
  }

  async remove(channel: string, h: Handler): Promise<void> {
    const set = this.channels.get(channel)
    if (!set) return
    set.delete(h)
    if (set.size > 0) return
    this.channels.delete(channel)
    if (this.conn.status === 'ready')
      await this.conn[this.sharded ? 'sunsubscribe' : 'unsubscribe'](channel).catch(() => {})
  }

  /** Moves a channel's handlers off this link (its slot moved to another master). */
  take(channel: string): Set<Handler> | undefined {
    const set = this.channels.get(channel)
    this.channels.delete(channel)
    if (set) {
      for (const h of set) notify(h, false)
      if (this.conn.status === 'ready')
        this.conn[this.sharded ? 'sunsubscribe' : 'unsubscribe'](channel).catch(() => {})
    }
    return set
  }

  close(): void {
    this.#closed = true
    this.#live = false
    this.conn.disconnect()
  }
}

function notify(h: Handler, live: boolean): void {
  if (h.live === live) return
  h.live = live
  try {
    h.onState?.(live)
  } catch {}
}

/**
 * Pub/sub for the store: one subscriber connection beside the client (standalone, Sentinel), or
 * sharded pub/sub (`SSUBSCRIBE`, Redis 7) on the master that owns each channel's slot, followed
 * across failovers and slot moves (Cluster). `onState(false)` when messages may be lost,
 * `onState(true)` once the channel is subscribed again.
 */
export class Subscriptions {
  readonly #client: Conn
  readonly #cluster: boolean
  #single: Link | undefined
  readonly #links = new Map<string, Link>()
  /** Cluster: which link each channel is on. */
  readonly #placed = new Map<string, string>()
  #timer: NodeJS.Timeout | undefined
  #refreshing = false
  #lastRefresh = 0
  readonly #onTopology = () => this.#reconcile()

  constructor(client: Conn) {
    this.#client = client
    this.#cluster = client.isCluster === true
  }

  async subscribe(
    channel: string,
    onMessage: (message: string) => void,
    onState?: (live: boolean) => void,
  ): Promise<() => Promise<void>> {
    const h: Handler = { onMessage, onState, live: false }
    if (!this.#cluster) {
      this.#single ??= new Link(this.#client.duplicate({ autoResubscribe: false, lazyConnect: false }), false)
      await this.#single.add(channel, h)
      const link = this.#single
      return () => link.remove(channel, h)
    }
    this.#watch()
    const key = this.#ownerKey(channel)
    const link = key === undefined ? undefined : this.#link(key)
    if (link === undefined || key === undefined) {
      // No owner known yet: park the handler; the reconcile loop places it.
      this.#parked(channel).add(h)
    } else {
      this.#placed.set(channel, key)
      await link.add(channel, h)
    }
    return async () => {
      this.#parked(channel).delete(h)
      const at = this.#placed.get(channel)
      const l = at === undefined ? undefined : this.#links.get(at)
      await l?.remove(channel, h)
      if (l && !l.channels.has(channel)) this.#placed.delete(channel)
    }
  }

  readonly #parkedHandlers = new Map<string, Set<Handler>>()
  #parked(channel: string): Set<Handler> {
    let set = this.#parkedHandlers.get(channel)
    if (!set) {
      set = new Set()
      this.#parkedHandlers.set(channel, set)
    }
    return set
  }

  #ownerKey(channel: string): string | undefined {
    const owner = this.#client.slots?.[keySlot(channel)]?.[0]
    return typeof owner === 'string' ? owner : undefined
  }

  #link(key: string): Link | undefined {
    let link = this.#links.get(key)
    if (link && link.conn.status === 'end') {
      link.close()
      this.#links.delete(key)
      link = undefined
    }
    if (link) return link
    const node = this.#client.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === key)
    if (!node) return undefined
    const conn = node.duplicate({
      lazyConnect: false,
      readOnly: false,
      autoResubscribe: false,
      enableOfflineQueue: true,
      retryStrategy: (times: number) => Math.min(50 * times, 500),
    })
    link = new Link(conn, true)
    this.#links.set(key, link)
    return link
  }

  #watch(): void {
    if (this.#timer) return
    this.#client.on('refresh', this.#onTopology)
    this.#client.on('+node', this.#onTopology)
    this.#client.on('-node', this.#onTopology)
    this.#timer = setInterval(() => this.#reconcile(), 250)
    this.#timer.unref()
  }

  /** Puts every channel on the link of its slot's current master; asks for the topology when a link is down. */
  #reconcile(): void {
    let stale = false
    const channels = new Set([...this.#placed.keys(), ...this.#parkedHandlers.keys()])
    for (const channel of channels) {
      const owner = this.#ownerKey(channel)
      const at = this.#placed.get(channel)
      const parked = this.#parkedHandlers.get(channel)
      if (owner === undefined) {
        stale = true
        continue
      }
      if (at !== owner) {
        const moved = at === undefined ? undefined : this.#links.get(at)?.take(channel)
        const link = this.#link(owner)
        if (!link) {
          stale = true
          for (const h of moved ?? []) this.#parked(channel).add(h)
          this.#placed.delete(channel)
          continue
        }
        this.#placed.set(channel, owner)
        const all = [...(moved ?? []), ...(parked ?? [])]
        parked?.clear()
        for (const h of all) link.add(channel, h).catch(() => {})
      } else if (parked && parked.size > 0) {
        const link = this.#links.get(owner)
        if (link) {
          for (const h of parked) link.add(channel, h).catch(() => {})
          parked.clear()
        }
      }
      const link = this.#links.get(owner)
      if (link && !link.up) stale = true
    }
    for (const [key, link] of this.#links) {
      if (link.channels.size === 0) {
        link.close()
        this.#links.delete(key)
      }
    }
    if (stale && !this.#refreshing && Date.now() - this.#lastRefresh > 500) {
      this.#refreshing = true
      this.#lastRefresh = Date.now()
      try {
        this.#client.refreshSlotsCache?.(() => {
          this.#refreshing = false
        })
      } catch {
        this.#refreshing = false
      }
    }
  }

  close(): void {
    if (this.#timer) {
      clearInterval(this.#timer)
      this.#timer = undefined
      this.#client.off('refresh', this.#onTopology)
      this.#client.off('+node', this.#onTopology)
      this.#client.off('-node', this.#onTopology)
    }
    this.#single?.close()
    this.#single = undefined
    for (const link of this.#links.values()) link.close()
    this.#links.clear()
    this.#placed.clear()
  }
}
