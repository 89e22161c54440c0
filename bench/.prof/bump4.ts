import { Redis } from 'ioredis'
import { readFileSync } from 'node:fs'
const redis = new Redis('redis://127.0.0.1:6415')
const lua = readFileSync('/tmp/bump.lua', 'utf8')
redis.defineCommand('bumpx', { lua })
redis.defineCommand('triv', { lua: "return 1" })
const keys = ['{p:t:a}:r:1', '{p:t:a}:t', '{p:t:a}:g']
await (redis as any).triv(0)
await (redis as any).bumpx(4, ...keys, '{p:t:a}:n', 86400, 'abc', '', 3, 1, 1, 1, 1)
await redis.config('RESETSTAT')
for (let i = 0; i < 5000; i++) await (redis as any).bumpx(4, ...keys, '{p:t:a}:n', 86400, 'abc', '', 3, 1, 1, 1, 1)
console.log((await redis.info('commandstats')).split('\n').filter(l => /eval/.test(l)).join('\n'))
await redis.config('RESETSTAT')
for (let i = 0; i < 5000; i++) await (redis as any).triv(0)
console.log((await redis.info('commandstats')).split('\n').filter(l => /eval/.test(l)).join('\n'))
console.log(await redis.info('memory').then(s => s.split('\n').filter(l => /lua|script/.test(l)).join('\n')))
redis.disconnect()
