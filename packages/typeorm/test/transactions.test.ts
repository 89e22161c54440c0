import { dep } from '@freshkey/core'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { type Blog, openBlog } from './support/blog.ts'
import { Article, User } from './support/entities.ts'
import { bumpCounter, watch } from './support/probe.ts'
import { combos } from './support/services.ts'

const A = 'blog_articles'
const deps = [dep.row(A, 1), dep.row(A, 2), dep.row(A, 3), dep.row(A, 10), dep.row(A, 11), dep.row(A, 12)]
const article = (id: number) => ({ id, title: `t${id}`, published: true, category: 'news', authorId: 1 })

describe.each(combos)('transactions on %s with %s store', (db, store) => {
  let blog: Blog
  let moved: () => Promise<string[]>
  let bumps: () => number
  beforeEach(async () => {
    blog = await openBlog(db, store)
    moved = (await watch(blog.fk, deps)).moved
    bumps = bumpCounter(blog.fk)
  })
  afterEach(() => blog.close())

  test('changes bump once, after the commit, before transaction() returns', async () => {
    await blog.ds.transaction(async (em) => {
      await em.save(Article, article(10))
      await em.update(Article, 1, { title: 'x' })
      await em.delete(Article, 2)
      expect(await moved()).toEqual([])
    })
    expect(await moved()).toEqual(['blog_articles#1', 'blog_articles#2', 'blog_articles#10'])
    expect(bumps()).toBe(1)
  })

  test('a rollback bumps nothing', async () => {
    await expect(
      blog.ds.transaction(async (em) => {
        await em.save(Article, article(10))
        await em.update(Article, 1, { title: 'x' })
        throw new Error('boom')
      }),
    ).rejects.toThrow('boom')
    expect(await moved()).toEqual([])
    expect(bumps()).toBe(0)
  })

  test('savepoints: a released one is merged, a rolled-back one discards only its own changes', async () => {
    await blog.ds.transaction(async (em) => {
      await em.save(Article, article(10))
      await em.transaction(async (inner) => {
        await inner.save(Article, article(11))
      })
      await expect(
        em.transaction(async (inner) => {
          await inner.save(Article, article(12))
          await inner.update(Article, 1, { title: 'gone' })
          throw new Error('inner')
        }),
      ).rejects.toThrow('inner')
    })
    expect(await moved()).toEqual(['blog_articles#10', 'blog_articles#11'])
    expect(bumps()).toBe(1)
    expect(await blog.ds.getRepository(Article).countBy({ id: 12 })).toBe(0)
  })

  test('an outer rollback discards released savepoints too', async () => {
    await expect(
      blog.ds.transaction(async (em) => {
        await em.transaction((inner) => inner.save(Article, article(11)))
        throw new Error('outer')
      }),
    ).rejects.toThrow('outer')
    expect(await moved()).toEqual([])
  })

  test('read-your-writes: reads of a table the transaction wrote bypass the cache; nothing loaded inside is stored', async () => {
    const repo = blog.ds.getRepository(Article)
    const load = (id: number, m = repo.manager) => m.findOneByOrFail(Article, { id }).then((a) => a.title)
    const user = (m = repo.manager) => m.findOneByOrFail(User, { id: 2 }).then((u) => u.name)
    expect(await blog.fk.wrap('user:2', () => user())).toBe('bob')
    expect(await blog.fk.wrap('article:1', () => load(1))).toBe('one')
    await blog.ds.transaction(async (em) => {
      await em.update(Article, 1, { title: 'mine' })
      const before = blog.fk.stats()
      expect(await blog.fk.wrap('article:1', () => load(1, em))).toBe('mine')
      expect(blog.fk.stats().bypasses).toBe(before.bypasses + 1)
      expect(await blog.fk.wrap('user:2', () => Promise.resolve('not called'))).toBe('bob')
      expect(await blog.fk.wrap('article:3', () => load(3, em))).toBe('three')
    })
    let loads = 0
    const counted = () => {
      loads++
      return load(3)
    }
    expect(await blog.fk.wrap('article:3', counted)).toBe('three')
    expect(loads).toBe(1)
    expect(await blog.fk.wrap('article:1', () => load(1))).toBe('mine')
  })

  test('a query runner driven by hand: runInTransaction makes its transaction current', async () => {
    const qr = blog.ds.createQueryRunner()
    await qr.startTransaction()
    await qr.manager.update(Article, 1, { title: 'manual' })
    const seen = await blog.handle.runInTransaction(qr, () =>
      blog.fk.wrap(['v', dep.row(A, 1)], () =>
        qr.manager.findOneByOrFail(Article, { id: 1 }).then((a) => a.title),
      ),
    )
    expect(seen).toBe('manual')
    expect(await moved()).toEqual([])
    await qr.commitTransaction()
    await qr.release()
    expect(await moved()).toEqual(['blog_articles#1'])
  })

  test('the implicit transaction of save() bumps before save() returns', async () => {
    await blog.ds.getRepository(Article).save(article(10))
    expect(await moved()).toEqual(['blog_articles#10'])
    expect(bumps()).toBe(1)
  })
})

describe.each(combos)('fenced commits on %s with %s store', (db, store) => {
  let blog: Blog
  beforeEach(async () => {
    blog = await openBlog(db, store)
  })
  afterEach(() => blog.close())

  // Issue 13: the fence is sent while COMMIT is in flight; after COMMIT the writer waits for no bump.
  test.each([
    ['transaction(fn)', (b: Blog) => b.ds.transaction((em) => em.update(Article, 1, { title: 'tx' }))],
    [
      'save() (implicit transaction)',
      async (b: Blog) => {
        const a = await b.ds.getRepository(Article).findOneByOrFail({ id: 1 })
        a.title = 'saved'
        await b.ds.getRepository(Article).save(a)
      },
    ],
    [
      'repository.update(id) (autocommit)',
      (b: Blog) => b.ds.getRepository(Article).update(1, { title: 'auto' }),
    ],
  ] as const)('%s: one store bump, sent before the database answered', async (_name, write) => {
    const calls: string[] = []
    let committed = false
    blog.ds.subscribers.unshift({
      afterTransactionCommit: () => {
        committed = true
      },
    })
    blog.ds.subscribers.unshift({ afterUpdate: () => void calls.push('statement') })
    const bump = blog.fk.store.bump.bind(blog.fk.store)
    blog.fk.store.bump = (request) => {
      calls.push(committed ? 'bump after commit' : 'bump')
      return bump(request)
    }
    await write(blog)
    // sql.js runs COMMIT synchronously in this process: nothing can be in flight beside it.
    expect(calls.filter((c) => c.startsWith('bump'))).toEqual([db === 'sqlite' ? expect.any(String) : 'bump'])
    expect(await blog.ds.getRepository(Article).findOneByOrFail({ id: 1 })).toBeTruthy()
  })
})

describe.each(combos.filter(([db]) => db === 'sqlite'))(
  'one shared connection on %s with %s store',
  (db, store) => {
    let blog: Blog
    beforeEach(async () => {
      blog = await openBlog(db, store)
    })
    afterEach(() => blog.close())

    test('reads outside the callback while a transaction is open are not stored (they see its writes)', async () => {
      const repo = blog.ds.getRepository(Article)
      let release!: () => void
      const held = new Promise<void>((r) => (release = r))
      let started!: () => void
      const open = new Promise<void>((r) => (started = r))
      const tx = blog.ds.transaction(async (em) => {
        await em.update(Article, 1, { title: 'uncommitted' })
        started()
        await held
        throw new Error('rolled back')
      })
      await open
      const outside = await blog.fk.wrap(['v', dep.row(A, 1)], () =>
        repo.findOneByOrFail({ id: 1 }).then((a) => a.title),
      )
      expect(outside).toBe('uncommitted')
      release()
      await expect(tx).rejects.toThrow('rolled back')
      let loads = 0
      const after = await blog.fk.wrap(['v', dep.row(A, 1)], () => {
        loads++
        return repo.findOneByOrFail({ id: 1 }).then((a) => a.title)
      })
      expect(after).toBe('one')
      expect(loads).toBe(1)
    })
  },
)
