import {
  ConfigError,
  newToken,
  type Store,
  type StoredEntry,
  type StoreRead,
  StoreUnavailableError,
} from '@freshkey/core'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import { BUMP, READ, REGISTER, RELEASE, TOKENS, WRITE } from './scripts.ts'

/** Options of {@link redisStore}. */
export interface RedisStoreOptions {
  /** Prefix of every key this store writes. Default `'fk:'`. */
  prefix?: string
  /** timeout: milliseconds one store call may take before it fails with `StoreUnavailableError`. Default 1000. */
  timeout?: number
  /** Keys deleted per UNLINK while purging. Default 500. */
  batchSize?: number
}

type Client = Redis | Cluster

interface ScriptClient {
  fkTokens(n: number, ...args: (string | number)[]): Promise<string[]>
  fkBump(n: number, ...args: (string | number)[]): Promise<number>
  fkRead(n: number, ...args: (string | number)[]): Promise<[string[], string, number]>
  fkWrite(n: number, ...args: (string | number)[]): Promise<number>
  fkRelease(n: number, ...args: (string | number)[]): Promise<number>
  fkRegister(n: number, ...args: (string | number)[]): Promise<string[]>
}

function encodeEntry(e: StoredEntry): string {
  let head = `${e.tokenKeys.length}\n`
  e.tokenKeys.forEach((k, i) => {
    head += `${k}\n${e.tokens[i]}\n`
  })
  return `${head}${e.freshUntil}\n${e.payload}`
}

function decodeEntry(raw: string): StoredEntry {
  let pos = raw.indexOf('\n')
  const n = Number(raw.slice(0, pos))
  const tokenKeys: string[] = []
  const tokens: string[] = []
  for (let i = 0; i < n; i++) {
    const a = raw.indexOf('\n', pos + 1)
    const b = raw.indexOf('\n', a + 1)
    tokenKeys.push(raw.slice(pos + 1, a))
    tokens.push(raw.slice(a + 1, b))
    pos = b
  }
  const f = raw.indexOf('\n', pos + 1)
  return { tokenKeys, tokens, freshUntil: Number(raw.slice(pos + 1, f)), payload: raw.slice(f + 1) }
}

const globEscape = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`)

/**
 * A freshkey store on Redis through ioredis (standalone, Sentinel or Cluster). Every operation is
 * one round trip; multi-key work runs in Lua scripts. Key layout: `<prefix>{<namespace>}:…` — the
 * hash tag keeps one namespace in one Cluster slot, so every script is valid on Cluster.
 */
export class RedisStore implements Store {
  readonly client: Client
  readonly prefix: string
  readonly #owned: boolean
  readonly #timeout: number
  readonly #batch: number
  /** Clients with `commandTimeout` (ours always have it) enforce it themselves; others need our watchdog. */
  readonly #race: boolean
  readonly #pending = new Set<{ deadline: number; reject: (error: unknown) => void }>()
  #watchdog: NodeJS.Timeout | undefined
  /** When this process last refreshed each token key's TTL (bounded). */
  readonly #refreshed = new Map<string, number>()
  #subscriber: Redis | undefined
  readonly #handlers = new Map<string, Set<(message: string) => void>>()

  constructor(client: Client, options: RedisStoreOptions & { owned?: boolean } = {}) {
    this.client = client
    this.prefix = options.prefix ?? 'fk:'
    this.#owned = options.owned ?? false
    this.#race =
      !this.#owned && typeof (client.options as { commandTimeout?: unknown }).commandTimeout !== 'number'
    this.#timeout = options.timeout ?? 1000
    this.#batch = options.batchSize ?? 500
    const define = (name: string, lua: string) => {
      if (!(name in client)) client.defineCommand(name, { lua })
    }
    define('fkTokens', TOKENS)
    define('fkBump', BUMP)
    define('fkRead', READ)
    define('fkWrite', WRITE)
    define('fkRelease', RELEASE)
    define('fkRegister', REGISTER)
  }

  get #scripts(): ScriptClient {
    return this.client as unknown as ScriptClient
  }

  #fail(operation: string, error: unknown): StoreUnavailableError {
    return new StoreUnavailableError(`redis ${operation} failed: ${(error as Error).message}`, {
      cause: error,
    })
  }

  #run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (!this.#race) return fn().catch((error) => Promise.reject(this.#fail(operation, error)))
    // One shared watchdog instead of a timer per call: the hot path only adds a Set entry.
    return new Promise<T>((resolve, reject) => {
      const slot = { deadline: Date.now() + this.#timeout, reject }
      this.#pending.add(slot)
      this.#watch()
      fn().then(
        (value) => {
          this.#pending.delete(slot)
          resolve(value)
        },
        (error) => {
          this.#pending.delete(slot)
          reject(this.#fail(operation, error))
        },
      )
    })
  }

  #watch(): void {
    if (this.#watchdog) return
    this.#watchdog = setInterval(
      () => {
        const now = Date.now()
        for (const slot of this.#pending) {
          if (slot.deadline > now) continue
          this.#pending.delete(slot)
          slot.reject(this.#fail('call', new Error(`timed out after ${this.#timeout} ms`)))
        }
        if (this.#pending.size === 0) {
          clearInterval(this.#watchdog)
          this.#watchdog = undefined
        }
      },
      Math.max(10, Math.floor(this.#timeout / 4)),
    )
    this.#watchdog.unref()
  }

  #k = (key: string) => this.prefix + key

  // Hot path: one MGET. The get-or-create script runs only when a token is missing (first use,
  // expiry, a flushed Redis); TTLs are refreshed off the hot path, at most every ttl/4 per key.
  async tokens(keys: readonly string[], ttl: number): Promise<string[]> {
    if (keys.length === 0) return []
    const full = keys.map(this.#k)
    const found = await this.#run('tokens', () => this.client.mget(...full))
    if (found.every((t) => t !== null)) {
      this.#refresh(full, ttl)
      return found as string[]
    }
    return this.#run('tokens', () => this.#scripts.fkTokens(full.length, ...full, Math.ceil(ttl), newToken()))
  }

  #refresh(full: readonly string[], ttl: number): void {
    const now = Date.now()
    const due = full.filter((k) => (this.#refreshed.get(k) ?? 0) + ttl * 250 < now)
    if (due.length === 0) return
    if (this.#refreshed.size > 100_000) this.#refreshed.clear()
    const pipeline = this.client.pipeline()
    for (const k of due) {
      this.#refreshed.set(k, now)
      pipeline.expire(k, Math.ceil(ttl))
    }
    pipeline.exec().catch(() => {})
  }

  async bump(keys: readonly string[], ttl: number, channel?: string): Promise<void> {
    if (keys.length === 0) return
    const ch = channel === undefined ? '' : this.#k(channel)
    await this.#run('bump', () =>
      this.#scripts.fkBump(keys.length, ...keys.map(this.#k), Math.ceil(ttl), newToken(), ch, this.prefix),
    )
  }

  async read(entryKey: string, tokenKeys: readonly string[], ttl: number): Promise<StoreRead> {
    if (tokenKeys.length > 0) {
      // One MGET reads the entry and the current tokens atomically; the entry is checked here.
      const full = tokenKeys.map(this.#k)
      const [raw, ...tokens] = await this.#run('read', () => this.client.mget(this.#k(entryKey), ...full))
      if (tokens.every((t) => t !== null)) {
        this.#refresh(full, ttl)
        const current = tokens as string[]
        if (!raw) return { tokens: current, valid: false }
        const entry = decodeEntry(raw)
        // Usual case: the entry was written for these very keys, in this order.
        if (
          entry.tokenKeys.length === tokenKeys.length &&
          entry.tokenKeys.every((k, i) => k === tokenKeys[i])
        ) {
          return { tokens: current, entry, valid: entry.tokens.every((t, i) => t === current[i]) }
        }
        const byKey = new Map(tokenKeys.map((k, i) => [k, current[i]]))
        if (entry.tokenKeys.every((k) => byKey.has(k))) {
          return {
            tokens: current,
            entry,
            valid: entry.tokenKeys.every((k, i) => byKey.get(k) === entry.tokens[i]),
          }
        }
      }
    }
    const [tokens, raw, valid] = await this.#run('read', () =>
      this.#scripts.fkRead(
        1 + tokenKeys.length,
        this.#k(entryKey),
        ...tokenKeys.map(this.#k),
        Math.ceil(ttl),
        newToken(),
        this.prefix,
      ),
    )
    if (!raw) return { tokens, valid: false }
    return { tokens, entry: decodeEntry(raw), valid: valid === 1 }
  }

  async write(entryKey: string, entry: StoredEntry, ttlMs: number): Promise<boolean> {
    const n = 1 + entry.tokenKeys.length
    const ok = await this.#run('write', () =>
      this.#scripts.fkWrite(
        n,
        this.#k(entryKey),
        ...entry.tokenKeys.map(this.#k),
        encodeEntry(entry),
        Math.ceil(ttlMs),
        ...entry.tokens,
      ),
    )
    return ok === 1
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return
    await this.#run('delete', () => this.client.unlink(...keys.map(this.#k)))
  }

  async acquire(key: string, ms: number): Promise<string | undefined> {
    const owner = newToken()
    const ok = await this.#run('acquire', () =>
      this.client.set(this.#k(key), owner, 'PX', Math.ceil(ms), 'NX'),
    )
    return ok === 'OK' ? owner : undefined
  }

  async release(key: string, owner: string): Promise<void> {
    await this.#run('release', () => this.#scripts.fkRelease(1, this.#k(key), owner))
  }

  async deletePrefix(prefix: string): Promise<number> {
    const nodes: Redis[] =
      this.client instanceof Cluster ? this.client.nodes('master') : [this.client as Redis]
    const match = `${globEscape(this.#k(prefix))}*`
    let deleted = 0
    for (const node of nodes) {
      let cursor = '0'
      do {
        const [next, keys] = await this.#run('scan', () =>
          node.scan(cursor, 'MATCH', match, 'COUNT', this.#batch),
        )
        cursor = next
        for (let i = 0; i < keys.length; i += this.#batch) {
          const batch = keys.slice(i, i + this.#batch)
          deleted += await this.#run('unlink', () => node.unlink(...batch))
        }
      } while (cursor !== '0')
    }
    return deleted
  }

  async getRaw(key: string): Promise<string | undefined> {
    return (await this.#run('get', () => this.client.get(this.#k(key)))) ?? undefined
  }

  async setRaw(key: string, value: string, ttlMs?: number): Promise<void> {
    await this.#run('set', () =>
      ttlMs === undefined
        ? this.client.set(this.#k(key), value)
        : this.client.set(this.#k(key), value, 'PX', Math.ceil(ttlMs)),
    )
  }

  register(key: string, member: string): Promise<string[]> {
    return this.#run('register', () => this.#scripts.fkRegister(1, this.#k(key), Date.now(), member))
  }

  async unregister(key: string, member: string): Promise<void> {
    await this.#run('unregister', () => this.client.zrem(this.#k(key), member))
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.#run('publish', () => this.client.publish(this.#k(channel), message))
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>> {
    const full = this.#k(channel)
    if (!this.#subscriber) {
      const sub = (this.client instanceof Cluster ? this.client.nodes('master')[0]! : this.client).duplicate()
      sub.on('message', (ch: string, message: string) => {
        for (const fn of this.#handlers.get(ch) ?? []) fn(message)
      })
      sub.on('error', () => {})
      this.#subscriber = sub
    }
    let set = this.#handlers.get(full)
    if (!set) {
      set = new Set()
      this.#handlers.set(full, set)
      await this.#run('subscribe', () => this.#subscriber!.subscribe(full))
    }
    set.add(onMessage)
    return async () => {
      set.delete(onMessage)
      if (set.size === 0 && this.#handlers.get(full) === set) {
        this.#handlers.delete(full)
        await this.#subscriber?.unsubscribe(full).catch(() => {})
      }
    }
  }

  async close(): Promise<void> {
    if (this.#watchdog) clearInterval(this.#watchdog)
    this.#watchdog = undefined
    this.#subscriber?.disconnect()
    this.#subscriber = undefined
    if (this.#owned) this.client.disconnect()
  }
}

/** Where {@link redisStore} connects: an ioredis client, a `redis://`/`rediss://` URL, or ioredis options. */
export type RedisTarget = Redis | Cluster | string | RedisOptions

/**
 * Creates a Redis store. Accepts an existing ioredis `Redis`/`Cluster` (left open on `close()`), a
 * URL (`rediss://` enables TLS; a password in the URL is used) or ioredis options; with nothing,
 * reads `REDIS_URL`.
 */
export function redisStore(target?: RedisTarget, options: RedisStoreOptions = {}): RedisStore {
  if (target instanceof Redis || target instanceof Cluster) return new RedisStore(target, options)
  const timeout = options.timeout ?? 1000
  const defaults: RedisOptions = {
    commandTimeout: timeout,
    maxRetriesPerRequest: 1,
    connectTimeout: Math.max(timeout, 2000),
  }
  const url = target === undefined ? process.env.REDIS_URL : typeof target === 'string' ? target : undefined
  if (target === undefined && !url)
    throw new ConfigError('redisStore needs a client, URL or options (or REDIS_URL)')
  if (url !== undefined && !/^rediss?:\/\//.test(url))
    throw new ConfigError(`not a redis:// or rediss:// URL: ${url}`)
  const client =
    url !== undefined ? new Redis(url, defaults) : new Redis({ ...defaults, ...(target as RedisOptions) })
  client.on('error', () => {})
  return new RedisStore(client, { ...options, owned: true })
}
