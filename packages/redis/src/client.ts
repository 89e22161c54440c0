import { ConfigError } from '@freshkey/core'
import { Cluster, type ClusterNode, type ClusterOptions, Redis, type RedisOptions } from 'ioredis'

/**
 * An ioredis `Redis` or `Cluster` client, from any copy of ioredis 5.4+ or 6 (recognized by its
 * shape, not `instanceof`, so the app's own ioredis works even when it is not the one freshkey
 * resolved).
 */
export interface IoredisClient {
  readonly status: string
  readonly options: object
  defineCommand(name: string, definition: { lua: string; numberOfKeys?: number }): void
  pipeline(): unknown
  on(event: string, listener: (...args: any[]) => void): unknown
  disconnect(reconnect?: boolean): void
}

/** The part of an ioredis client the store uses (Redis and Cluster alike). */
export interface Conn {
  readonly status: string
  readonly options: Record<string, any>
  readonly isCluster?: boolean
  readonly connectionEpoch?: number
  readonly slots?: string[][]
  [command: string]: any
  pipeline(): Pipe
  nodes(role?: 'all' | 'master' | 'slave'): Conn[]
  on(event: string, listener: (...args: any[]) => void): unknown
  off(event: string, listener: (...args: any[]) => void): unknown
  duplicate(overrides?: Record<string, unknown>): Conn
  disconnect(reconnect?: boolean): void
  quit(): Promise<unknown>
}

export interface Pipe {
  [command: string]: any
  exec(): Promise<[Error | null, unknown][] | null>
}

/** Where `redisStore` connects to a Cluster it creates. */
export interface RedisClusterTarget {
  /** Startup nodes, e.g. `['127.0.0.1:7000']` or `[{ host, port }]`. */
  cluster: readonly (string | ClusterNode)[]
  /** ioredis Cluster options (`scaleReads` must stay `'master'`). */
  options?: ClusterOptions
}

/** True for an ioredis Redis or Cluster client of any copy of ioredis. */
export function isClient(value: unknown): value is IoredisClient {
  if (!value || typeof value !== 'object') return false
  const c = value as Record<string, unknown>
  return (
    typeof c.defineCommand === 'function' &&
    typeof c.pipeline === 'function' &&
    typeof c.sendCommand === 'function' &&
    typeof c.on === 'function' &&
    typeof c.options === 'object' &&
    c.options !== null
  )
}

/** Token reads and compare-and-set never go to replicas (DESIGN rule 9): refuse clients that would. */
export function checkMasterReads(client: Conn): void {
  checkMasterOptions(client.options, client.isCluster === true)
}

function checkMasterOptions(o: Record<string, any>, cluster: boolean): void {
  const keyPrefix = o.keyPrefix ?? o.redisOptions?.keyPrefix
  if (typeof keyPrefix === 'string' && keyPrefix !== '')
    throw new ConfigError(
      `redisStore needs a client without keyPrefix (got '${keyPrefix}'): use the store's \`prefix\` option instead`,
    )
  if (cluster) {
    const to = o.scaleReads ?? 'master'
    if (to !== 'master')
      throw new ConfigError(
        `redisStore needs a Cluster client with scaleReads: 'master' (got ${typeof to === 'function' ? 'a function' : `'${String(to)}'`}): ` +
          'tokens read from a replica can be older than the last bump',
      )
    return
  }
  if (o.role === 'slave')
    throw new ConfigError(
      "redisStore needs a client of the master (got Sentinel role: 'slave'): replicas can serve old tokens",
    )
  if (o.readOnly === true)
    throw new ConfigError('redisStore needs a client without readOnly: replicas can serve old tokens')
}

const parseNode = (node: string | ClusterNode): ClusterNode => {
  if (typeof node !== 'string') return node
  const m = /^(?:rediss?:\/\/)?([^:/]+):(\d+)\/?$/.exec(node)
  if (!m) throw new ConfigError(`not a host:port Cluster node: ${node}`)
  return { host: m[1]!, port: Number(m[2]) }
}

/** Creates the client for a URL, options or a Cluster target, with the store's defaults. */
export function createClient(
  target: string | RedisOptions | RedisClusterTarget | undefined,
  timeout: number,
): Conn {
  const defaults: RedisOptions = {
    // Commands issued in one tick go out as one pipeline: concurrent operations share writes.
    enableAutoPipelining: true,
    commandTimeout: timeout,
    maxRetriesPerRequest: 1,
    connectTimeout: Math.max(timeout, 2000),
  }
  if (target !== undefined && typeof target !== 'string') {
    const proto = target !== null && typeof target === 'object' ? Object.getPrototypeOf(target) : undefined
    if (proto !== Object.prototype && proto !== null)
      throw new ConfigError(
        'redisStore needs an ioredis Redis or Cluster client (any copy of ioredis 5.4+ or 6), a redis:// URL, ' +
          'plain ioredis options or { cluster: nodes }; got ' +
          (target === null || typeof target !== 'object'
            ? String(target)
            : `a ${proto?.constructor?.name ?? 'non-plain'} object`),
      )
  }
  if (target !== undefined && typeof target === 'object' && 'cluster' in target) {
    const t = target as RedisClusterTarget
    if (!Array.isArray(t.cluster) || t.cluster.length === 0)
      throw new ConfigError('redisStore({ cluster }) needs at least one startup node')
    checkMasterOptions((t.options ?? {}) as Record<string, any>, true)
    // No auto-pipelining on a Cluster: ioredis routes an auto-pipelined script by its first
    // argument (the key count), not its first key, and the pipeline then fails across slots.
    const options: ClusterOptions = {
      scaleReads: 'master',
      ...t.options,
      redisOptions: { connectTimeout: defaults.connectTimeout, ...t.options?.redisOptions },
    }
    const cluster = new Cluster(t.cluster.map(parseNode), options) as unknown as Conn
    cluster.on('error', () => {})
    return cluster
  }
  const url = target === undefined ? process.env.REDIS_URL : typeof target === 'string' ? target : undefined
  if (target === undefined && !url)
    throw new ConfigError('redisStore needs a client, URL or options (or REDIS_URL)')
  if (url !== undefined && !/^rediss?:\/\//.test(url))
    throw new ConfigError(`not a redis:// or rediss:// URL: ${url}`)
  let client: Redis
  if (url !== undefined) client = new Redis(url, defaults)
  else {
    const options = target as RedisOptions
    checkMasterOptions(options as Record<string, any>, false)
    const sentinel = Array.isArray((options as { sentinels?: unknown }).sentinels)
    // With Sentinel, follow +switch-master at once (a client left on a demoted master loses its
    // writes), and on READONLY (a demoted master) reconnect, so Sentinel finds the new master, and resend.
    const follow: RedisOptions = {
      failoverDetector: true,
      reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 2 : false),
    }
    client = new Redis({ ...defaults, ...(sentinel ? follow : {}), ...options })
  }
  client.on('error', () => {})
  return client as unknown as Conn
}
