export type { PostgresServer, RedisServer } from '../setup/servers.ts'
export { freePort, startPostgres, startRedis } from '../setup/servers.ts'
export { serviceUrl } from './services.ts'
