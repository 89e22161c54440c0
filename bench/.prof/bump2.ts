import { Redis } from 'ioredis'
import { redisStore } from '@freshkey/redis'
import { createFreshkey } from '@freshkey/core'
const redis = new Redis('redis://127.0.0.1:6415')
const store = redisStore(redis)
const fk = createFreshkey({ store, namespace: `prof-${process.pid}`, logger: false })
const change = { table: 'articles', kind: 'update' as const, pk: 1, after: { title: 't' }, changed: ['title'] }
const t = performance.now()
for (let i = 0; i < 20000; i++) await fk.changed(change)
console.log(((performance.now() - t) / 20000 * 1000).toFixed(0), 'µs/op')
await fk.close(); redis.disconnect()
