export { serviceUrl } from './services.ts'
export { freePort, startPostgres, startRedis } from '../setup/servers.ts'
export type { PostgresServer, RedisServer } from '../setup/servers.ts'
