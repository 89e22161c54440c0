import { ConfigError } from '@freshkey/core'
import { type RedisStore, redisStore } from '@freshkey/redis'

/** What the commands talk to: the store (generations, purge) and its ioredis client (raw reads). */
export interface Connection {
  readonly store: RedisStore
  readonly prefix: string
  readonly cluster: boolean
  /** The masters (the client itself when standalone). */
  masters(): Raw[]
  /** Sends one command, routed by its key on a Cluster. */
  readonly client: Raw
  close(): Promise<void>
}

/** The ioredis commands the CLI sends (any copy of ioredis 5/6). */
export interface Raw {
  readonly options: Record<string, any>
  [command: string]: any
}

/** Connects with `--cluster host:port,...`, `--url`, or REDIS_URL. */
export async function connect(options: {
  url?: string
  cluster?: string
  prefix?: string
}): Promise<Connection> {
  const prefix = options.prefix ?? 'fk:'
  const cluster = options.cluster?.split(',').filter(Boolean)
  const url = options.url ?? process.env.REDIS_URL
  if (!cluster?.length && !url)
    throw new ConfigError('say where Redis is: --url redis://…, --cluster host:port,… or REDIS_URL')
  const store = cluster?.length
    ? redisStore({ cluster }, { prefix, timeout: 5000 })
    : redisStore(url!, { prefix, timeout: 5000 })
  await store.ready(10_000)
  const client = store.client as unknown as Raw
  const isCluster = client.isCluster === true
  return {
    store,
    prefix,
    cluster: isCluster,
    client,
    masters: () => (isCluster ? (client.nodes('master') as Raw[]) : [client]),
    close: () => store.close(),
  }
}

/** Every key under `match` on every master, batch by batch. */
export async function* scan(
  conn: Connection,
  match: string,
  count = 1000,
): AsyncGenerator<{ node: Raw; keys: string[] }> {
  for (const node of conn.masters()) {
    let cursor = '0'
    do {
      const [next, keys] = (await node.scan(cursor, 'MATCH', match, 'COUNT', count)) as [string, string[]]
      cursor = next
      if (keys.length > 0) yield { node, keys }
    } while (cursor !== '0')
  }
}

export const glob = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`)
export const where = (node: Raw) => `${node.options.host ?? '127.0.0.1'}:${node.options.port ?? 6379}`
