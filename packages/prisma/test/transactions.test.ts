import { dep } from '@freshkey/core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { prismaMajor } from './support/generate-clients.ts'
import { matrix, watch } from './support/harness.ts'
import { blogDeps, type Fixture, openFixture } from './support/setup.ts'

describe.each(matrix())('transactions on $db with $store store', (combo) => {
  let f: Fixture
  let changed: () => Promise<string[]>
  beforeAll(async () => {
    f = await openFixture(combo)
  })
  beforeEach(async () => {
    await f.reset()
    changed = (await watch(f.fk, blogDeps())).changed
  })
  afterAll(() => f?.close())

  it('interactive: nothing is bumped before the commit, everything before $transaction returns', async () => {
    const result = await f.prisma.$transaction(async (tx) => {
      await tx.article.update({ where: { id: 1 }, data: { category: 'news' } })
      await tx.user.update({ where: { id: 2 }, data: { name: 'B' } })
      expect(await changed()).toEqual([])
      return 'done'
    })
    expect(result).toBe('done')
    expect(await changed()).toEqual(['a1', 'articles', 'draftNews', 'pubNews', 'pubTech', 'user2', 'users'])
  })

  it('interactive: an error thrown in the callback rolls back and discards the changes', async () => {
    const boom = new Error('boom')
    await expect(
      f.prisma.$transaction(async (tx) => {
        await tx.article.update({ where: { id: 1 }, data: { category: 'news' } })
        throw boom
      }),
    ).rejects.toBe(boom)
    expect(await changed()).toEqual([])
    expect(await f.db.base.article.findUnique({ where: { id: 1 } })).toMatchObject({ category: 'tech' })
  })

  it('interactive: a failing statement rejects and discards', async () => {
    await expect(
      f.prisma.$transaction(async (tx) => {
        await tx.article.update({ where: { id: 2 }, data: { title: 'x' } })
        await tx.article.update({ where: { id: 404 }, data: { title: 'x' } })
      }),
    ).rejects.toMatchObject({ code: 'P2025' })
    expect(await changed()).toEqual([])
  })

  // Prisma 6 has no nested `tx.$transaction` (compat/6/prisma-6.test.ts shows it).
  if (prismaMajor >= 7) {
    it('nested tx.$transaction: a committed savepoint joins the outer commit, a rolled-back one is dropped', async () => {
      await f.prisma.$transaction(async (tx) => {
        await tx.$transaction(async (inner) => {
          await inner.article.update({ where: { id: 2 }, data: { title: 'kept' } })
        })
        await expect(
          tx.$transaction(async (inner) => {
            await inner.article.update({ where: { id: 3 }, data: { title: 'dropped' } })
            throw new Error('inner')
          }),
        ).rejects.toThrow('inner')
        expect(await changed()).toEqual([])
        await tx.user.update({ where: { id: 1 }, data: { name: 'A' } })
      })
      expect(await changed()).toEqual(['a2', 'articles', 'user1', 'users'])
      expect((await f.db.base.article.findUnique({ where: { id: 3 } }))?.title).toBe('three')
      expect((await f.db.base.article.findUnique({ where: { id: 2 } }))?.title).toBe('kept')
    })

    it('nested: an outer rollback drops the committed savepoint too', async () => {
      await expect(
        f.prisma.$transaction(async (tx) => {
          await tx.$transaction(async (inner) => {
            await inner.article.update({ where: { id: 2 }, data: { title: 'gone' } })
          })
          throw new Error('outer')
        }),
      ).rejects.toThrow('outer')
      expect(await changed()).toEqual([])
    })
  }

  it('batch: bumps after the batch commits', async () => {
    await f.prisma.$transaction([
      f.prisma.article.update({ where: { id: 1 }, data: { title: 'x' } }),
      f.prisma.membership.create({ data: { userId: 2, groupId: 10, role: 'member' } }),
    ])
    expect(await changed()).toEqual(['a1', 'articles', 'm2x10', 'memberships'])
  })

  it('batch: a failing statement rolls the batch back and discards', async () => {
    await expect(
      f.prisma.$transaction([
        f.prisma.article.update({ where: { id: 1 }, data: { title: 'x' } }),
        f.prisma.article.update({ where: { id: 404 }, data: { title: 'x' } }),
      ]),
    ).rejects.toMatchObject({ code: 'P2025' })
    expect(await changed()).toEqual([])
    expect((await f.db.base.article.findUnique({ where: { id: 1 } }))?.title).toBe('one')
  })

  it('batch: a scoped update without a before image invalidates every scope of its unchanged category', async () => {
    await f.prisma.$transaction([f.prisma.article.update({ where: { id: 3 }, data: { published: true } })])
    // The returned row's category did not change: the condition it left is among news's, not tech's.
    expect(await changed()).toEqual(['a3', 'articles', 'draftNews', 'pubNews'])
  })

  it('raw writes inside a transaction wait for the commit', async () => {
    await f.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('UPDATE groups SET name = name')
      expect(await changed()).toEqual([])
    })
    expect(await changed()).toEqual(['groupUsers', 'groups'])
  })

  it('tells core the current transaction: a cached read in it bypasses the cache and is not stored', async () => {
    const list = () =>
      f.prisma.article.cached().findMany({ where: { category: 'tech' }, orderBy: { id: 'asc' } })
    expect((await list()).map((a) => a.title)).toEqual(['one', 'two'])
    await f.prisma.$transaction(async (tx) => {
      expect(f.fk.currentTransaction()).toBeDefined()
      await tx.article.update({ where: { id: 1 }, data: { title: 'uno' } })
      const inside = await tx.article
        .cached()
        .findMany({ where: { category: 'tech' }, orderBy: { id: 'asc' } })
      expect(inside.map((a) => a.title)).toEqual(['uno', 'two'])
    })
    expect(f.fk.currentTransaction()).toBeUndefined()
    // The commit's fence is lifted in the background: until then a load is served, not stored.
    await f.fk.idle()
    const before = f.fk.stats()
    expect((await list()).map((a) => a.title)).toEqual(['uno', 'two'])
    expect(f.fk.stats().misses - before.misses).toBe(1)
    expect((await list()).map((a) => a.title)).toEqual(['uno', 'two'])
    expect(f.fk.stats().hits - before.hits).toBe(1)
  })

  it('a row moving between declared scopes in a transaction: the scope goes wide (no before image is read)', async () => {
    const w = await watch(f.fk, {
      sports: dep.scope('blog_articles', { published: true, category: 'sports' }),
      draftSports: dep.scope('blog_articles', { published: false, category: 'sports' }),
    })
    await f.prisma.$transaction(async (tx) => {
      await tx.article.update({ where: { id: 1 }, data: { category: 'sports' } })
      await tx.article.update({ where: { id: 1 }, data: { category: 'news' } })
    })
    expect(await changed()).toEqual(['a1', 'articles', 'draftNews', 'pubNews', 'pubTech'])
    expect(await w.changed()).toEqual(['draftSports', 'sports'])
  })

  // SQLite has one writer: a second transaction inside the callback would wait for the first forever.
  if (combo.db === 'postgres')
    it('a write through the outer client inside a callback is its own transaction: bumped at once', async () => {
      await f.prisma
        .$transaction(async (tx) => {
          await f.prisma.user.update({ where: { id: 2 }, data: { name: 'outside' } })
          expect(await changed()).toEqual(['user2', 'users'])
          await tx.article.update({ where: { id: 2 }, data: { title: 'inside' } })
          expect(await changed()).toEqual([])
          throw new Error('rollback the inside write only')
        })
        .catch(() => {})
      expect(await changed()).toEqual([])
      expect((await f.db.base.user.findUnique({ where: { id: 2 } }))?.name).toBe('outside')
    })
})
