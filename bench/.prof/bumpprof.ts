import { Redis } from 'ioredis'
import { redisStore } from '@freshkey/redis'
import { createFreshkey } from '@freshkey/core'

const redis = new Redis('redis://127.0.0.1:6415')
const store = redisStore(redis)
const fk = createFreshkey({ store, namespace: `prof-${process.pid}`, logger: false })
const N = 4000
async function time(name: string, fn: () => Promise<unknown>) {
  for (let i = 0; i < 300; i++) await fn()
  const t = performance.now(); const c = process.cpuUsage()
  for (let i = 0; i < N; i++) await fn()
  const el = performance.now() - t; const cpu = process.cpuUsage(c)
  console.log(name.padEnd(28), ((el / N) * 1000).toFixed(0).padStart(6), 'µs/op', (((cpu.user + cpu.system) / N)).toFixed(0).padStart(6), 'µs cpu/op')
}
await time('ping', () => redis.ping())
await time('get', () => redis.get('x'))
const change = { table: 'articles', kind: 'update' as const, pk: 1, after: { title: 't' }, changed: ['title'] }
await time('fk.changed (plain bump)', () => fk.changed(change))
const { Bumper } = await import('../../packages/core/src/bumper.ts').catch(() => ({ Bumper: undefined }))
// Through the adapter kit's fence path:
const internals = (fk as any)
const bumper = Object.values(internals).find((v: any) => v && typeof v.fence === 'function') as any
if (bumper) {
  await time('fence + settle', async () => { const f = bumper.fence([change]); await f.ready; await f.settle(true) })
} else console.log('no bumper handle on fk; keys:', Object.keys(internals))
await time('store.bump plain', () => store.bump({ keys: ['{p:t:a}:r:1', '{p:t:a}:t', '{p:g}:g'], counters: ['{p:t:a}:n'], ttl: 86400, channel: '{p:meta}:bumps', message: 'x' }))
await time('store.bump fenced', () => store.bump({ keys: ['{p:t:a}:r:1', '{p:t:a}:t', '{p:g}:g'], counters: ['{p:t:a}:n'], ttl: 86400, fenceMs: 2000, channel: '{p:meta}:bumps', message: 'x' }))
await fk.close(); redis.disconnect()
