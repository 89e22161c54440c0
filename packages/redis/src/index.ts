export type { RedisStoreOptions, RedisTarget } from './redis-store.ts'
export { RedisStore, redisStore } from './redis-store.ts'
