import { Redis } from 'ioredis'
import { readFileSync } from 'node:fs'
import { redisStore } from '@freshkey/redis'
const redis = new Redis('redis://127.0.0.1:6415')
const store = redisStore(redis)
const lua = readFileSync('/tmp/bump.lua', 'utf8')
redis.defineCommand('bumpx', { lua })
const N = 5000
async function time(name: string, fn: () => Promise<unknown>) {
  for (let i = 0; i < 500; i++) await fn()
  const t = performance.now(); const c = process.cpuUsage()
  for (let i = 0; i < N; i++) await fn()
  const el = performance.now() - t; const cpu = process.cpuUsage(c)
  console.log(name.padEnd(34), ((el / N) * 1000).toFixed(0).padStart(6), 'µs/op', (((cpu.user + cpu.system) / N)).toFixed(0).padStart(6), 'µs cpu/op')
}
const keys = ['{p:t:a}:r:1', '{p:t:a}:t', '{p:t:a}:g']
for (let r = 0; r < 2; r++) {
await time('get', () => redis.get('x'))
await time('evalsha bump direct', () => (redis as any).bumpx(4, ...keys, '{p:t:a}:n', 86400, 'abc', '', 3, 1, 1, 1, 1))
await time('pipeline evalsha+publish', () => { const p = redis.pipeline(); (p as any).bumpx(4, ...keys, '{p:t:a}:n', 86400, 'abc', '', 3, 1, 1, 1, 1); p.publish('{p:meta}:bumps', 'x\ny'); return p.exec() })
await time('store.bump no channel', () => store.bump({ keys, counters: ['{p:t:a}:n'], ttl: 86400 }))
await time('store.bump channel', () => store.bump({ keys, counters: ['{p:t:a}:n'], ttl: 86400, channel: '{p:meta}:bumps', message: 'x' }))
await time('store.bump fenced', () => store.bump({ keys, counters: ['{p:t:a}:n'], ttl: 86400, fenceMs: 2000, channel: '{p:meta}:bumps', message: 'x' }))
}
await store.close?.(); redis.disconnect()
