import { createHash } from 'node:crypto'
import { isFenced, Keyspace } from '@freshkey/core/adapter'
import { redisStore } from '@freshkey/redis'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LIFT } from '../../packages/redis/src/scripts.ts'
import { serviceUrl } from '../support/services.ts'

// A commit's lift is not sent on its own: socket writes are what a commit costs, so it waits a
// moment for this process's next read or bump and goes out in the same write, ahead of it. The
// next read must still see the key lifted (so it can store), and a lift with nothing to ride
// along with still goes out by itself.
const url = serviceUrl('REDIS_URL')

/** The deadlines of a fenced token `~<d1>.<d2>…~<token>`. */
const fenceDeadlines = (token: string) =>
  (/^~([\d.]+)~/.exec(token)?.[1] ?? '').split('.').filter(Boolean).map(Number)

describe('lifts ride along with the next command (standalone)', () => {
  let client: Redis
  let writes: string[] = []
  const liftSha = createHash('sha1').update(LIFT).digest('hex')
  /** Writes that carry a lift (by its digest, or its text the first time on a connection). */
  const lifts = () => writes.filter((w) => w.includes(liftSha) || w.includes(LIFT))
  beforeAll(async () => {
    // No skip: the test command starts a throwaway Redis, so a missing one is a failure.
    if (!url) throw new Error('REDIS_URL is not set: start Redis (bash scripts/dev.sh test does)')
    client = new Redis(url)
    await client.ping()
    const stream = (client as unknown as { stream: { write: (...a: unknown[]) => boolean } }).stream
    const write = stream.write.bind(stream)
    stream.write = (...a: unknown[]) => {
      writes.push(String(a[0]))
      return write(...a)
    }
  })
  afterAll(() => client.disconnect())
  const space = () => new Keyspace(`lift-${process.pid}-${Date.now().toString(36)}`, '1')

  it('the next read carries the lift in the same write, and sees the key lifted', async () => {
    const store = redisStore(client)
    const a = space().row('posts', '1')
    const fenced = await store.bump({ keys: [a], ttl: 60, fenceMs: 5000 })
    writes = []
    const lifted = store.lift({ keys: [a], tokens: fenced.tokens, ttl: 60 })
    const read = await store.tokens([a], 60)
    await lifted
    expect(lifts()).toHaveLength(1)
    expect(lifts()[0]).toMatch(/mget/i)
    expect(isFenced(read.tokens[0])).toBe(false)
  })

  it('the next bump carries it inside its own script: no LIFT, one write', async () => {
    const store = redisStore(client)
    const ks = space()
    const a = ks.row('posts', '2')
    const fenced = await store.bump({ keys: [a], ttl: 60, fenceMs: 5000 })
    writes = []
    const lifted = store.lift({ keys: [a], tokens: fenced.tokens, ttl: 60 })
    await store.bump({ keys: [ks.row('posts', '3')], ttl: 60 })
    await lifted
    expect(writes).toHaveLength(1)
    expect(lifts()).toHaveLength(0)
    const after = (await store.tokens([a], 60)).tokens[0]!
    expect(isFenced(after)).toBe(false)
    expect(after).not.toBe(fenced.tokens[0])
  })

  it('a bump is one command that publishes its own message', async () => {
    const store = redisStore(client)
    const ks = space()
    const channel = ks.bumps
    const listener = new Redis(url!)
    try {
      const heard = new Promise<string>((resolve) => listener.on('message', (_c, m) => resolve(m)))
      await listener.subscribe(`fk:${channel}`)
      writes = []
      await store.bump({ keys: [ks.row('posts', '10')], ttl: 60, channel, message: 'hello' })
      expect(writes).toHaveLength(1)
      expect(writes[0]).not.toMatch(/\$7\r\npublish\r\n/i) // no PUBLISH command (the script's text may name it)
      expect(await heard).toBe('hello')
    } finally {
      listener.disconnect()
    }
  })

  it('a key both lifted and fenced again keeps only the new fence, after the old one', async () => {
    const store = redisStore(client)
    const ks = space()
    const a = ks.row('posts', '6')
    const first = await store.bump({ keys: [a], ttl: 60, fenceMs: 5000 })
    const lifted = store.lift({ keys: [a], tokens: first.tokens, ttl: 60 })
    const second = await store.bump({ keys: [a], ttl: 60, fenceMs: 5000 })
    await lifted
    const [d1] = fenceDeadlines(first.tokens[0]!)
    const live = fenceDeadlines(second.tokens[0]!)
    expect(live).toHaveLength(1)
    expect(live[0]).toBeGreaterThan(d1!)
    // The second commit's own lift then unfences the key.
    await store.lift({ keys: [a], tokens: second.tokens, ttl: 60 })
    expect(isFenced((await store.tokens([a], 60)).tokens[0])).toBe(false)
  })

  it('a lift riding with another commit ends only its own fence: a commit still under way stays fenced', async () => {
    const store = redisStore(client)
    const ks = space()
    const a = ks.row('posts', '7')
    const quick = await store.bump({ keys: [a], ttl: 60, fenceMs: 5000 })
    const slow = await store.bump({ keys: [a], ttl: 60, fenceMs: 5000 })
    const lifted = store.lift({ keys: [a], tokens: quick.tokens, ttl: 60 })
    const third = await store.bump({ keys: [a], ttl: 60, fenceMs: 5000 })
    await lifted
    const [, dSlow] = fenceDeadlines(slow.tokens[0]!)
    const live = fenceDeadlines(third.tokens[0]!)
    expect(live).toHaveLength(2)
    expect(live[0]).toBe(dSlow)
    expect(live[1]).toBeGreaterThan(dSlow!)
    // A lift-only key of the same kind: the slow commit's fence survives the third's lift.
    const again = store.lift({ keys: [a], tokens: third.tokens, ttl: 60 })
    await store.bump({ keys: [ks.row('posts', '8')], ttl: 60 })
    await again
    const raw = (await store.tokens([a], 60)).tokens[0]!
    expect(fenceDeadlines(raw)).toEqual([dSlow])
  })

  it('a key lifted inside a bump gets a token newer than its group counter read before', async () => {
    const store = redisStore(client)
    const ks = space()
    const a = ks.row('posts', '9')
    const counter = ks.counterOf(a)!
    const fenced = await store.bump({ keys: [a], ttl: 60, fenceMs: 5000, counters: [counter] })
    const [before] = await store.counters([counter])
    const lifted = store.lift({ keys: [a], tokens: fenced.tokens, ttl: 60, counters: [counter] })
    // A bump of another group carries the lift; the lifted key's group counter moves once.
    await store.bump({ keys: [ks.table('other')], ttl: 60 })
    await lifted
    const token = (await store.tokens([a], 60)).tokens[0]!
    expect(isFenced(token)).toBe(false)
    const seq = Number(/@(\d+)$/.exec(token)?.[1])
    expect(seq).toBeGreaterThan(Number(before))
    expect((await store.counters([counter]))[0]).toBe(String(seq))
  })

  it('a lift with nothing to ride along with goes out by itself within milliseconds', async () => {
    const store = redisStore(client)
    const a = space().row('posts', '4')
    const fenced = await store.bump({ keys: [a], ttl: 60, fenceMs: 5000 })
    const started = performance.now()
    await store.lift({ keys: [a], tokens: fenced.tokens, ttl: 60 })
    expect(performance.now() - started).toBeLessThan(1000)
    const raw = await new Redis(url!).get(`fk:${a}`)
    expect(raw !== null && !isFenced(raw)).toBe(true)
  })

  it('close sends the lifts still waiting', async () => {
    const other = new Redis(url!)
    const store = redisStore(other)
    const a = space().row('posts', '5')
    const fenced = await store.bump({ keys: [a], ttl: 60, fenceMs: 5000 })
    const lifted = store.lift({ keys: [a], tokens: fenced.tokens, ttl: 60 })
    await store.close()
    await lifted
    const raw = await client.get(`fk:${a}`)
    other.disconnect()
    expect(raw !== null && !isFenced(raw)).toBe(true)
  })
})
