import {
  type PostgresServer,
  type RedisClusterServer,
  type RedisServer,
  startCluster,
  startPostgres,
  startRedis,
  which,
} from './servers.ts'

// Starts throwaway servers for the whole run unless REDIS_URL / REDIS_CLUSTER_NODES / DATABASE_URL
// are given. Without a server binary (and outside CI) the suites that need it report a one-line
// skip. FK_CLUSTER=off skips starting the Cluster (six redis-servers) for quick local runs.
export default async function setup(): Promise<() => Promise<void>> {
  let redis: RedisServer | undefined
  let cluster: RedisClusterServer | undefined
  let pg: PostgresServer | undefined
  if (!process.env.REDIS_URL && which('redis-server')) {
    redis = await startRedis()
    process.env.REDIS_URL = redis.url
  }
  if (!process.env.REDIS_CLUSTER_NODES && process.env.FK_CLUSTER !== 'off' && which('redis-server')) {
    cluster = await startCluster()
    process.env.REDIS_CLUSTER_NODES = cluster.nodes.join(',')
  }
  if (
    !process.env.DATABASE_URL &&
    which('initdb', [
      '/usr/lib/postgresql/15/bin',
      '/usr/lib/postgresql/16/bin',
      '/usr/lib/postgresql/17/bin',
    ])
  ) {
    pg = await startPostgres()
    process.env.DATABASE_URL = pg.url
  }
  return async () => {
    await redis?.stop()
    await cluster?.stop()
    await pg?.stop()
  }
}
