import { createFreshkey, dep } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { Redis } from 'ioredis'
const redis = new Redis('redis://127.0.0.1:6415')
const store = redisStore(redis)
await store.ready()
const fk = createFreshkey({ store, namespace: `kf-${process.pid}`, logger: false })
const deps = Array.from({ length: 100 }, (_, i) => dep.row('users', i + 1))
await fk.keyFor(...deps)
const t = performance.now()
for (let i = 0; i < 20000; i++) await fk.keyFor(...deps)
console.log(((performance.now() - t) / 20000 * 1000).toFixed(0), 'µs/op')
await fk.close(); await store.close(); redis.disconnect()
