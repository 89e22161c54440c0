import { setTimeout as sleep } from 'node:timers/promises'
import type { Change } from './change.ts'
import { emit, type FreshkeyStats } from './events.ts'
import type { Keyspace } from './keyspace.ts'
import { bumpMessage, type NearCache } from './near-cache.ts'
import type { Plan, Planner } from './planner.ts'
import type { Reporter } from './reporter.ts'
import type { Store } from './store.ts'

/** A fence sent in parallel with a database commit (see `docs/design.md`, "Commits that do not wait"). */
export interface Fence {
  /** Resolves once the fenced tokens are in the store (or the attempt failed). Never rejects. */
  readonly ready: Promise<void>
  /**
   * Call after the database answered the commit. Committed quickly: the fence is lifted in the
   * background. Committed slowly, or the store changed servers meanwhile: bumps again before it
   * resolves. Not committed: lifted in the background (only needless misses remain). Never rejects.
   */
  settle(committed: boolean): Promise<void>
}

interface Batch {
  readonly changes: Change[]
  readonly keys: Set<string>
  readonly tables: Set<string>
  sentAt: number
  generation: string | undefined
  failed: boolean
  /** Keys the store bumped → the token written (a lift ends the fence it carries). */
  written: Map<string, string>
  /** The bump counters of the written keys, in their order (what the lift sends with them). */
  readonly counters: Set<string>
  pending: number
  readonly done: Promise<void>
  resolve(): void
}

export interface BumperOptions {
  store: Store
  keys: Keyspace
  planner: Planner
  reporter: Reporter
  stats: FreshkeyStats
  namespace: string
  tokenTtl: number
  fenceMs: number
  attempts: number
  sender: string
  near: NearCache | undefined
}

/**
 * Every bump goes through here: coalesced per event-loop turn into one store call, retried,
 * falling back to deleting the keys (a missing token is a fresh one for every process), and
 * owed — loudly — when even that fails, so this process never serves what it could not invalidate.
 */
export class Bumper {
  readonly #o: BumperOptions
  #plain: Batch | undefined
  #fence: Batch | undefined
  readonly #owedTables = new Set<string>()
  readonly #owedKeys = new Set<string>()
  #paying: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined
  readonly #inflight = new Set<Promise<unknown>>()

  constructor(options: BumperOptions) {
    this.#o = options
  }

  /** Bumps at once (the write has committed): resolves when done. Never rejects. */
  bump(changes: readonly Change[], extra: Iterable<string> = []): Promise<void> {
    if (!this.#plain) {
      const created: Batch = this.#batch(() => this.#sendPlain(created))
      this.#plain = created
    }
    const batch = this.#plain
    this.#add(batch, changes, extra)
    return batch.done
  }

  /** Starts a fence for a commit about to be sent (see {@link Fence}). Never throws. */
  fence(changes: readonly Change[]): Fence {
    if (!this.#fence) {
      const created: Batch = this.#batch(() => this.#sendFence(created))
      this.#fence = created
    }
    const batch = this.#fence
    this.#add(batch, changes, [])
    batch.pending++
    let settled = false
    return {
      ready: batch.done,
      settle: async (committed: boolean) => {
        if (settled) return
        settled = true
        await batch.done
        const o = this.#o
        // A store that cannot tell its generation counts as moved: bump again rather than trust the fence.
        let moved: boolean
        try {
          const now = o.store.generation?.()
          moved = now !== undefined && batch.generation !== undefined && now !== batch.generation
        } catch {
          moved = true
        }
        const slow = performance.now() - batch.sentAt > o.fenceMs / 2
        // The fence may have expired (slow) or been lost (moved): bump again before returning.
        // The lift still follows: it ends this batch's own fences only, those still live.
        if (committed && (batch.failed || slow || moved)) await this.bump(changes)
        if (--batch.pending === 0 && !batch.failed) this.#lift(batch)
      },
    }
  }

  #batch(send: () => Promise<void>): Batch {
    let resolve!: () => void
    const done = new Promise<void>((r) => {
      resolve = r
    })
    const batch: Batch = {
      changes: [],
      keys: new Set(),
      tables: new Set(),
      sentAt: 0,
      generation: undefined,
      failed: false,
      written: new Map(),
      counters: new Set(),
      pending: 0,
      done,
      resolve,
    }
    setImmediate(() => {
      const p = send().finally(() => batch.resolve())
      this.#track(p)
    })
    return batch
  }

  #add(batch: Batch, changes: readonly Change[], extra: Iterable<string>): void {
    batch.changes.push(...changes)
    const plan: Plan = this.#o.planner.plan(changes, { keys: batch.keys, tables: batch.tables })
    for (const k of extra) plan.keys.add(k)
    // This process drops its near-cache entries before the write's call returns (read-your-writes).
    this.#o.near?.drop(plan.keys)
  }

  async #sendPlain(batch: Batch): Promise<void> {
    if (this.#plain === batch) this.#plain = undefined
    if (batch.keys.size === 0) return
    const { attempts, reporter } = this.#o
    for (let attempt = 0; attempt < attempts; attempt++) {
      try {
        await this.#send(batch, undefined)
        return
      } catch (error) {
        reporter.store('bump', error)
        if (attempt + 1 < attempts) await sleep(20 * 2 ** attempt)
      }
    }
    await this.#fallback(batch.keys)
  }

  async #sendFence(batch: Batch): Promise<void> {
    if (this.#fence === batch) this.#fence = undefined
    batch.sentAt = performance.now()
    if (batch.keys.size === 0) return
    try {
      await this.#send(batch, this.#o.fenceMs)
    } catch (error) {
      // Retried as a plain bump after the commit (settle), with the full retry ladder.
      batch.failed = true
      this.#o.reporter.store('fence', error)
    }
  }

  /** One store call, plus one more when the store's scheme sets were newer than ours. */
  async #send(batch: Batch, fenceMs: number | undefined): Promise<void> {
    const o = this.#o
    let keys = [...batch.keys]
    const sent = new Set<string>()
    for (let round = 0; round < 3 && keys.length > 0; round++) {
      const counters = this.#counters(keys)
      const result = await o.store.bump({
        keys,
        counters,
        ttl: o.tokenTtl,
        ...(fenceMs === undefined ? {} : { fenceMs }),
        schemes: o.planner.versions(batch.tables),
        channel: o.keys.bumps,
        message: bumpMessage(o.sender, keys),
      })
      batch.generation = result.generation
      // Again now the bump is in the store: a read of this process sent before it got the old
      // entry and may have put it back since the first drop (only the bump message dropped it).
      o.near?.drop(keys)
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!
        sent.add(k)
        batch.written.set(k, result.tokens[i] ?? '')
      }
      // Each round's keys are new ones, so these stay in the order of the written keys.
      for (const c of counters) batch.counters.add(c)
      o.stats.invalidations++
      const sentKeys = keys
      emit('invalidate', () => ({ namespace: o.namespace, keys: sentKeys }))
      let learned = false
      for (const set of result.schemes) if (o.planner.learn(set)) learned = true
      if (!learned) return
      const again = o.planner.plan(batch.changes)
      o.near?.drop(again.keys)
      keys = [...again.keys].filter((k) => !sent.has(k))
      for (const k of keys) batch.keys.add(k)
    }
  }

  /** A bump that could not be written: delete the keys instead; if that fails too, owe them. */
  async #fallback(keys: Set<string>): Promise<void> {
    const o = this.#o
    try {
      await o.store.delete([...keys])
      emit('invalidate', () => ({ namespace: o.namespace, keys: [...keys] }))
      o.reporter.loud('bump', 'a bump could not be written; its token keys were deleted instead')
      return
    } catch (error) {
      o.reporter.store('delete', error)
    }
    this.#owe(keys)
  }

  #owe(keys: Iterable<string>): void {
    const k = this.#o.keys
    for (const key of keys) {
      const table = k.tableOf(key)
      if (table !== undefined) this.#owedTables.add(table)
      else this.#owedKeys.add(key)
    }
    this.#o.reporter.loud(
      'bump',
      `a bump could not be written or deleted (${this.#owedTables.size} tables, ${this.#owedKeys.size} other keys owed): ` +
        'this process bypasses the cache for them and retries every second; other processes may serve old values until it succeeds',
    )
    if (!this.#timer) {
      this.#timer = setInterval(() => {
        this.pay().catch(() => {})
      }, 1000)
      this.#timer.unref()
    }
  }

  /** True while bumps are owed: reads must settle them or bypass. */
  get owing(): boolean {
    return this.#owedTables.size > 0 || this.#owedKeys.size > 0
  }

  /** True when a value depending on these keys may be stale because a bump is owed. */
  owes(keys: Iterable<string>): boolean {
    if (!this.owing) return false
    const k = this.#o.keys
    for (const key of keys) {
      if (this.#owedKeys.has(key)) return true
      const table = k.tableOf(key)
      if (table !== undefined && this.#owedTables.has(table)) return true
    }
    return false
  }

  /** Tries to pay what is owed: the tables' table and bulk tokens (every dependency on them), the other keys. */
  pay(): Promise<void> {
    if (!this.owing) return Promise.resolve()
    this.#paying ??= (async () => {
      const o = this.#o
      const keys = new Set(this.#owedKeys)
      for (const table of this.#owedTables) {
        keys.add(`{${o.keys.ns}:t:${table}}:t`).add(`{${o.keys.ns}:t:${table}}:b`)
      }
      try {
        await o.store.bump({
          keys: [...keys],
          counters: this.#counters(keys),
          ttl: o.tokenTtl,
          channel: o.keys.bumps,
          message: bumpMessage(o.sender, keys),
        })
      } catch {
        await o.store.delete([...keys])
      }
      o.near?.drop(keys)
      this.#owedTables.clear()
      this.#owedKeys.clear()
      if (this.#timer) clearInterval(this.#timer)
      this.#timer = undefined
      emit('invalidate', () => ({ namespace: o.namespace, keys: [...keys] }))
    })().finally(() => {
      this.#paying = undefined
    })
    return this.#paying
  }

  /**
   * Ends this batch's fence on its keys. Not awaited: on the store's connection it goes before any
   * read this process sends after the writer's call returns (a store may hold it briefly to send
   * it with that read), so that read can already store under the lifted token.
   */
  #lift(batch: Batch): void {
    const keys = [...batch.written.keys()]
    const tokens = [...batch.written.values()]
    // The counters of the written keys, found once when they were sent.
    const p = this.#o.store
      .lift({ keys, tokens, ttl: this.#o.tokenTtl, counters: [...batch.counters] })
      .catch((error) => {
        // The fences expire by themselves; until then only needless misses.
        this.#o.reporter.store('lift', error)
      })
    this.#track(p)
  }

  /** The bump counters of the table groups of these keys. */
  #counters(keys: Iterable<string>): string[] {
    return this.#o.keys.countersOf(keys)
  }

  #track(p: Promise<unknown>): void {
    this.#inflight.add(p)
    p.finally(() => this.#inflight.delete(p))
  }

  /** Resolves when background work (batches, lifts) has settled. */
  async idle(): Promise<void> {
    while (this.#inflight.size > 0 || this.#plain || this.#fence) {
      await Promise.allSettled([...this.#inflight, new Promise((r) => setImmediate(r))])
    }
  }

  async close(): Promise<void> {
    await this.idle()
    if (this.owing) await this.pay().catch((e) => this.#o.reporter.store('bump', e))
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
  }
}
