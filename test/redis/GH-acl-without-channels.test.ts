import { createFreshkey, dep } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { serviceUrl } from '../support/services.ts'

// Regression: with an ACL that grants keys but not channels (`~fk:* +@all`; Redis 7 users start
// with resetchannels), the old bump script failed at its PUBLISH after its SETs, so every commit
// reported a failed bump (and retried, and deleted) forever. Publishing is now sent beside the
// bump script and its error ignored; verify() names the missing right.
const url = serviceUrl('REDIS_URL')

describe.skipIf(!url)('ACL granting keys but not channels', () => {
  const user = `fk-acl-${process.pid}-${Date.now()}`
  let admin: Redis
  let appUrl: string
  beforeAll(async () => {
    admin = new Redis(url!)
    await admin.call('ACL', 'SETUSER', user, 'on', '>secret', 'resetchannels', '~fk:*', '+@all')
    const u = new URL(url!)
    u.username = user
    u.password = 'secret'
    appUrl = u.toString()
  })
  afterAll(async () => {
    await admin.call('ACL', 'DELUSER', user)
    admin.disconnect()
  })

  it('the ACL really refuses channels (the precondition of the bug)', async () => {
    const app = new Redis(appUrl)
    await expect(app.publish('fk:{x}:bumps', 'm')).rejects.toThrow(/NOPERM/)
    app.disconnect()
  })

  it('bumps succeed and values stay fresh; nothing is reported as a failed bump', async () => {
    const store = redisStore(appUrl)
    const errors: unknown[] = []
    const logger = { warn: (...a: unknown[]) => errors.push(a) }
    const namespace = `acl-${process.pid}-${Date.now()}`
    const fk = createFreshkey({ store, namespace, logger })
    try {
      await store.ready()
      let version = 1
      const load = async () => version
      expect(await fk.wrap(['post', dep.row('posts', 1)], load)).toBe(1)
      const bumped = await store.bump({
        keys: [`{${namespace}:t:posts}:r:1`],
        ttl: 60,
        channel: `{${namespace}:meta}:bumps`,
      })
      expect(bumped.tokens).toHaveLength(1)
      version = 2
      await fk.changed({ table: 'posts', kind: 'update', pk: 1 })
      expect(await fk.wrap(['post', dep.row('posts', 1)], load)).toBe(2)
      expect(fk.stats().storeErrors).toBe(0)
      expect(errors).toEqual([])
    } finally {
      await fk.close()
      await store.close()
    }
  })

  it('verify() reports the missing channel right as a warning that says what it costs', async () => {
    const store = redisStore(appUrl)
    try {
      await store.ready()
      const checks = await store.verify()
      const channels = checks.find((c) => c.name === 'acl:channels')
      expect(channels).toMatchObject({ ok: false, severity: 'warning' })
      expect(channels?.message).toMatch(/&fk:\*/)
      expect(checks.find((c) => c.name === 'acl:keys')?.ok).toBe(true)
      expect(checks.find((c) => c.name === 'acl:scripts')?.ok).toBe(true)
      expect(checks.filter((c) => !c.ok && c.severity === 'error')).toEqual([])
    } finally {
      await store.close()
    }
  })

  it('with the minimal ACL line of the README, verify() passes and every store operation works', async () => {
    const minimal = `${user}-min`
    // Keep in sync with packages/redis/README.md ("Minimal ACL").
    const rights =
      '~fk:* &fk:* -@all +ping +info +get +set +mget +expire +unlink +del +zrem +scan +wait ' +
      '+evalsha +eval +publish +subscribe +unsubscribe +spublish +ssubscribe +sunsubscribe ' +
      '+zadd +zrange +hsetnx +hgetall +incr +pttl +cluster|slots +cluster|shards'
    await admin.call('ACL', 'SETUSER', minimal, 'reset', 'on', '>secret', ...rights.split(' '))
    const u = new URL(url!)
    u.username = minimal
    u.password = 'secret'
    const store = redisStore(u.toString())
    const namespace = `acl-min-${process.pid}-${Date.now()}`
    const fk = createFreshkey({ store, namespace, logger: false })
    try {
      await store.ready()
      const checks = await store.verify()
      expect(checks.filter((c) => !c.ok)).toEqual([])
      expect((await fk.verify()).ok).toBe(true)
      // Every script and command freshkey sends: reads, writes with schemes, bumps, pub/sub, purge,
      // and TTL refreshes (a short ttl refreshes on every call).
      expect((await store.tokens([`{${namespace}:t:posts}:t`], 60)).tokens).toHaveLength(1)
      await store.read({ entry: `{${namespace}:@0:x}:v`, keys: [`{${namespace}:t:posts}:t`], ttl: 60 })
      const got: string[] = []
      const off = await store.subscribe(`{${namespace}:meta}:bumps`, (m) => got.push(m))
      let v = 1
      expect(await fk.wrap(['post', dep.row('posts', 1)], async () => v)).toBe(1)
      const r = await store.read({
        entry: `{${namespace}:@0:e}:v`,
        keys: [`{${namespace}:t:posts}:t`],
        ttl: 60,
      })
      const scheme = {
        hash: `{${namespace}:t:posts}:q`,
        version: `{${namespace}:t:posts}:qv`,
        id: 's',
        meta: 'm',
      }
      expect(
        await store.write({
          entry: `{${namespace}:@0:e}:v`,
          expect: {
            keys: [`{${namespace}:t:posts}:t`],
            tokens: [r.current.get(`{${namespace}:t:posts}:t`)!],
          },
          keys: [`{${namespace}:t:posts}:t`],
          fences: [],
          generation: r.generation,
          freshUntil: Date.now() + 1000,
          payload: 'x',
          ttlMs: 1000,
          tokenTtl: 60,
          schemes: [scheme],
        }),
      ).toBe(true)
      expect((await store.schemes([scheme]))[0]!.current).toBe('1')
      v = 2
      await fk.changed({ table: 'posts', kind: 'update', pk: 1 })
      expect(await fk.wrap(['post', dep.row('posts', 1)], async () => v)).toBe(2)
      for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((res) => setTimeout(res, 10))
      expect(got.length).toBeGreaterThan(0)
      await off()
      await fk.invalidateAll()
      expect((await fk.purge({ version: 'old' })).versions).toEqual(['old'])
      expect(fk.stats().storeErrors).toBe(0)
    } finally {
      await fk.close()
      await store.close()
      await admin.call('ACL', 'DELUSER', minimal)
    }
  })
})
