import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { channels, dep } from '@freshkey/core'
import { describe, expect, test } from 'vitest'
import { backends } from './support/backends.ts'
import { Article, User } from './support/entities.ts'
import { useHarness } from './support/harness.ts'
import { queryText } from './support/observe.ts'

describe.each(backends)('transactions ($name)', (backend) => {
  const h = useHarness(backend)
  const em = () => h.ctx.orm.em.fork()
  const row = (id: number) => dep.row('blog_articles', id)

  async function rename(e: ReturnType<typeof em>, id: number, title: string): Promise<void> {
    const a = await e.findOneOrFail(Article, id)
    a.title = title
    await e.flush()
  }

  test('a flush outside a transaction is bumped once its implicit transaction committed', async () => {
    const e = em()
    const key = await h.fk.keyFor(row(1))
    await rename(e, 1, 'x')
    // The bump is done when flush() returns (DESIGN rule 2).
    expect(await h.fk.keyFor(row(1))).not.toBe(key)
    expect(h.bumps.calls).toHaveLength(1)
  })

  test('em.transactional bumps once, after the commit', async () => {
    await em().transactional(async (t) => {
      await rename(t, 1, 'a')
      t.create(User, { id: 3, name: 'c' })
      await t.flush()
      expect(h.bumps.calls).toHaveLength(0)
    })
    expect(h.bumps.calls).toHaveLength(1)
    expect(h.bumps.bumped(row(1), dep.row('app_users', 3))).toBe(true)
  })

  test('a rolled-back transaction bumps nothing', async () => {
    await expect(
      em().transactional(async (t) => {
        await rename(t, 1, 'a')
        throw new Error('abort')
      }),
    ).rejects.toThrow('abort')
    expect(h.bumps.calls).toHaveLength(0)
  })

  test('a nested transaction merges into its parent on release and bumps with the outer commit', async () => {
    await em().transactional(async (t) => {
      await t.transactional(async (inner) => rename(inner, 2, 'inner'))
      expect(h.bumps.calls).toHaveLength(0)
      await rename(t, 1, 'outer')
    })
    expect(h.bumps.calls).toHaveLength(1)
    expect(h.bumps.bumped(row(1), row(2))).toBe(true)
  })

  test('a rolled-back nested transaction discards only its own changes', async () => {
    await em().transactional(async (t) => {
      await rename(t, 1, 'outer')
      await expect(
        t.transactional(async (inner) => {
          await rename(inner, 2, 'inner')
          await inner.nativeUpdate(User, 2, { name: 'x' })
          throw new Error('inner abort')
        }),
      ).rejects.toThrow('inner abort')
    })
    expect(h.bumps.bumped(row(1))).toBe(true)
    expect(h.bumps.bumped(row(2))).toBe(false)
    expect(h.bumps.bumped(dep.row('app_users', 2))).toBe(false)
  })

  test('em.begin / em.commit and em.rollback', async () => {
    const e = em()
    await e.begin()
    await rename(e, 1, 'begun')
    expect(h.bumps.calls).toHaveLength(0)
    await e.commit()
    expect(h.bumps.bumped(row(1))).toBe(true)
    h.bumps.reset()
    await e.begin()
    await rename(e, 2, 'rolled back')
    await e.rollback()
    expect(h.bumps.calls).toHaveLength(0)
  })

  test('forks: plain, with a cloned and with a fresh event manager', async () => {
    await rename(h.ctx.orm.em.fork(), 1, 'plain')
    expect(h.bumps.bumped(row(1))).toBe(true)
    h.bumps.reset()
    await rename(h.ctx.orm.em.fork({ cloneEventManager: true }), 2, 'cloned')
    expect(h.bumps.bumped(row(2))).toBe(true)
    h.bumps.reset()
    await rename(h.ctx.orm.em.fork({ freshEventManager: true }), 1, 'fresh')
    expect(h.bumps.bumped(row(1))).toBe(true)
    expect(h.bumps.calls).toHaveLength(1)
  })

  test('read-your-writes: inside a transaction that wrote a row, wrap bypasses the cache', async () => {
    const load = async (e = em()) => (await e.findOneOrFail(Article, 1, { disableIdentityMap: true })).title
    expect(await h.fk.wrap(['v', row(1)], () => load())).toBe('Draft')
    expect(await h.fk.wrap(['v', dep.row('app_users', 1)], () => 'Ada')).toBe('Ada')
    await expect(
      em().transactional(async (t) => {
        await rename(t, 1, 'uncommitted')
        expect(await h.fk.wrap(['v', row(1)], () => load(t))).toBe('uncommitted')
        // An untouched dependency is still served from the cache inside the transaction.
        expect(await h.fk.wrap(['v', dep.row('app_users', 1)], () => 'reloaded')).toBe('Ada')
        throw new Error('abort')
      }),
    ).rejects.toThrow('abort')
    // The rollback published nothing and the uncommitted value was never stored.
    let loaded = false
    expect(
      await h.fk.wrap(['v', row(1)], () => {
        loaded = true
        return load()
      }),
    ).toBe('Draft')
    expect(loaded).toBe(false)
  })

  test('em.begin() outside any context: handle.transactionOf(em) gives read-your-writes', async () => {
    expect(await h.fk.wrap(['v', row(2)], () => 'Live')).toBe('Live')
    const e = em()
    await e.begin()
    await rename(e, 2, 'begun')
    const tx = h.handle.transactionOf(e)
    expect(tx).toBeDefined()
    const title = await h.fk.runInTransaction(tx!, () =>
      h.fk.wrap(['v', row(2)], async () => (await e.findOneOrFail(Article, 2)).title),
    )
    expect(title).toBe('begun')
    // Outside the transaction's context the committed value is still served.
    expect(await h.fk.wrap(['v', row(2)], () => 'reloaded')).toBe('Live')
    await e.rollback()
    expect(h.handle.transactionOf(e)).toBeUndefined()
    expect(h.bumps.calls).toHaveLength(0)
  })

  test('nothing loaded inside a transaction is stored', async () => {
    await em().transactional(async () => {
      await h.fk.wrap(['v', dep.row('app_users', 2)], () => 'inside')
    })
    expect(await h.fk.wrap(['v', dep.row('app_users', 2)], () => 'outside')).toBe('outside')
  })
})

describe.each(backends)('publish order ($name)', (backend) => {
  const log: string[] = []
  const h = useHarness(backend, {
    orm: {
      debug: ['query'],
      logger: (message: string) => {
        if (/^commit\b/.test(queryText(message))) log.push('commit')
      },
    },
  })

  // The fence goes out in parallel with COMMIT (docs/design.md): both are done before the call returns.
  test('the fence and the database commit are both done before the call that committed returns', async () => {
    const off = subscribeBumps(h.fk.namespace, () => log.push('bump'))
    try {
      log.length = 0
      const e = h.ctx.orm.em.fork()
      const a = await e.findOneOrFail(Article, 1)
      a.title = 'ordered'
      await e.flush()
      log.push('flush returned')
      await h.ctx.orm.em.fork().transactional(async (t) => {
        await t.nativeUpdate(Article, 2, { title: 'ordered' })
      })
      log.push('transactional returned')
      const first = log.slice(0, 3)
      const second = log.slice(3)
      for (const [part, end] of [
        [first, 'flush returned'],
        [second, 'transactional returned'],
      ] as const) {
        expect([...part].sort()).toEqual(['bump', 'commit', end].sort())
        expect(part.at(-1)).toBe(end)
      }
    } finally {
      off()
    }
  })
})

function subscribeBumps(namespace: string, fn: () => void): () => void {
  const listener = (m: unknown) => {
    if ((m as { namespace: string }).namespace === namespace) fn()
  }
  subscribe(channels.invalidate, listener)
  return () => unsubscribe(channels.invalidate, listener)
}
