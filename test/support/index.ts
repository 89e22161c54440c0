export type {
  PostgresServer,
  RedisClusterServer,
  RedisServer,
  RedisServerOptions,
  SentinelSet,
} from '../setup/servers.ts'
export { cli, freePort, startCluster, startPostgres, startRedis, startSentinels } from '../setup/servers.ts'
export { clusterNodes, clusterStoreFactory, redisStoreFactory, serviceUrl } from './services.ts'
