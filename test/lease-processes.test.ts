import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { serviceUrl } from './support/services.ts'

const run = promisify(execFile)
const worker = fileURLToPath(new URL('./fixtures/lease-worker.ts', import.meta.url))
const redisUrl = serviceUrl('REDIS_URL')

describe.skipIf(!redisUrl)('dog-pile protection across processes (real Redis)', () => {
  it('three processes, 100 concurrent wraps each on one cold key: the loader runs once in total', async () => {
    const namespace = `lease-${process.pid}-${Date.now()}`
    const startAt = Date.now() + 1500 // lets every child finish starting before they race
    const children = await Promise.all(
      [0, 1, 2].map(() =>
        run(process.execPath, [worker, namespace, String(startAt), '100'], { env: process.env }),
      ),
    )
    const results = children.map(
      (c) => JSON.parse(c.stdout) as { pid: number; values: { loadedBy: number }[] },
    )
    const redis = new Redis(redisUrl!)
    try {
      expect(await redis.get(`lease-test:${namespace}:loads`)).toBe('1')
    } finally {
      redis.disconnect()
    }
    const loaders = new Set(results.flatMap((r) => r.values.map((v) => v.loadedBy)))
    expect(loaders.size).toBe(1) // every process got the one loaded value
    expect(results.flatMap((r) => r.values)).toHaveLength(300)
  })
})
