import { dep } from '@freshkey/core'
import type { SqlEntityManager } from '@mikro-orm/sql'
import { describe, expect, test } from 'vitest'
import { backends } from './support/backends.ts'
import { Article, Comment, Membership, User } from './support/entities.ts'
import { useHarness } from './support/harness.ts'

describe.each(backends)('writes that bypass the unit of work ($name)', (backend) => {
  const h = useHarness(backend)
  const em = () => h.ctx.orm.em.fork() as unknown as SqlEntityManager
  const row = (id: number) => dep.row('blog_articles', id)

  test('nativeUpdate by primary key bumps that row only', async () => {
    await em().nativeUpdate(Article, { id: 1 }, { title: 'x' })
    expect(h.bumps.bumped(row(1))).toBe(true)
    expect(h.bumps.bumped(row(2))).toBe(false)
  })

  test('nativeUpdate with a key list, a bare key or $in bumps those rows', async () => {
    await em().nativeUpdate(Article, 2, { title: 'x' })
    expect(h.bumps.bumped(row(2))).toBe(true)
    expect(h.bumps.bumped(row(1))).toBe(false)
    h.bumps.reset()
    await em().nativeUpdate(Article, { id: { $in: [1, 2] }, category: 'news' }, { title: 'y' })
    expect(h.bumps.bumped(row(1), row(2))).toBe(true)
    expect(h.bumps.bumped(row(3))).toBe(false)
  })

  test('nativeUpdate by another condition is a bulk change of the table', async () => {
    await em().nativeUpdate(Article, { category: 'news' }, { title: 'x' })
    expect(h.bumps.bumped(row(1), row(2), row(99))).toBe(true)
    expect(h.bumps.bumped(dep.row('app_users', 1))).toBe(false)
  })

  test('nativeDelete by key bumps the row and cascades; by condition bumps the table', async () => {
    await em().nativeDelete(Article, 2)
    expect(h.bumps.bumped(row(2), dep.table('article_comments'))).toBe(true)
    expect(h.bumps.bumped(row(1))).toBe(false)
    h.bumps.reset()
    await em().nativeDelete(Comment, { body: 'first' })
    expect(h.bumps.bumped(dep.row('article_comments', 1), dep.row('article_comments', 7))).toBe(true)
  })

  test('composite keys in a native condition', async () => {
    await em().nativeUpdate(Membership, { userId: 1, groupId: 10 }, { role: 'owner' })
    expect(h.bumps.bumped(dep.row('memberships', { userId: 1, groupId: 10 }))).toBe(true)
    expect(h.bumps.bumped(dep.row('memberships', { userId: 2, groupId: 10 }))).toBe(false)
  })

  test('insert and insertMany bump the inserted rows', async () => {
    await em().insert(Article, { id: 5, title: 'a', published: true, category: 'news', author: 1 })
    expect(h.bumps.bumped(row(5))).toBe(true)
    expect(h.bumps.bumped(row(6))).toBe(false)
    h.bumps.reset()
    await em().insertMany(User, [
      { id: 7, name: 'g' },
      { id: 8, name: 'h' },
    ])
    expect(h.bumps.bumped(dep.row('app_users', 7), dep.row('app_users', 8))).toBe(true)
    expect(h.bumps.bumped(dep.row('app_users', 1))).toBe(false)
  })

  test('insert of an entity instance bumps its row', async () => {
    const e = em()
    await e.insert(e.create(User, { id: 9, name: 'i' }, { persist: false }))
    expect(h.bumps.bumped(dep.row('app_users', 9))).toBe(true)
  })

  test('upsert and upsertMany bump the upserted rows', async () => {
    await em().upsert(Article, { id: 1, title: 'u', published: true, category: 'news', author: 1 })
    expect(h.bumps.bumped(row(1))).toBe(true)
    expect(h.bumps.bumped(row(2))).toBe(false)
    h.bumps.reset()
    await em().upsertMany(Article, [
      { id: 2, title: 'v', published: true, category: 'tech', author: 2 },
      { id: 3, title: 'w', published: true, category: 'tech', author: 2 },
    ])
    expect(h.bumps.bumped(row(2), row(3))).toBe(true)
    expect(h.bumps.bumped(row(1))).toBe(false)
    // Both rows in one store call: one statement, one commit.
    expect(h.bumps.calls).toHaveLength(1)
  })

  test('QueryBuilder update by key bumps the row; delete by condition bumps the table', async () => {
    await em().createQueryBuilder(Article).update({ title: 'qb' }).where({ id: 2 }).execute()
    expect(h.bumps.bumped(row(2))).toBe(true)
    expect(h.bumps.bumped(row(1))).toBe(false)
    h.bumps.reset()
    await em()
      .qb(Comment, 'c')
      .delete()
      .where({ body: { $like: 'f%' } })
      .execute()
    expect(h.bumps.bumped(dep.row('article_comments', 1), dep.row('article_comments', 5))).toBe(true)
  })

  test('QueryBuilder insert with keys bumps the rows; a select bumps nothing', async () => {
    await em().createQueryBuilder(User).insert({ id: 11, name: 'k' }).execute()
    expect(h.bumps.bumped(dep.row('app_users', 11))).toBe(true)
    h.bumps.reset()
    await em().createQueryBuilder(User).select('*').where({ id: 1 }).getResult()
    expect(h.bumps.calls).toHaveLength(0)
  })

  test('raw SQL through em.execute bumps the tables it writes', async () => {
    await em().execute('update blog_articles set title = ? where category = ?', ['raw', 'news'])
    expect(h.bumps.bumped(row(1), row(2))).toBe(true)
    expect(h.bumps.bumped(dep.row('app_users', 1))).toBe(false)
    h.bumps.reset()
    await em().execute('select * from blog_articles')
    expect(h.bumps.calls).toHaveLength(0)
  })

  test('raw SQL writing a table the ORM does not map bumps every table', async () => {
    await em().execute('create table audit_log (id integer)')
    expect(h.bumps.calls).toHaveLength(0)
    await em().execute('insert into audit_log (id) values (1)')
    expect(
      h.bumps.bumped(row(1), dep.row('app_users', 1), dep.row('memberships', { userId: 1, groupId: 10 })),
    ).toBe(true)
  })

  test('silent writes inside a transaction are bumped at its commit, not before', async () => {
    await h.ctx.orm.em.fork().transactional(async (t) => {
      await t.nativeUpdate(Article, 1, { title: 'tx' })
      await (t as unknown as SqlEntityManager).execute('update app_users set name = name')
      expect(h.bumps.calls).toHaveLength(0)
    })
    expect(h.bumps.calls).toHaveLength(1)
    expect(h.bumps.bumped(row(1), dep.row('app_users', 2))).toBe(true)
  })

  test('silent writes of a rolled-back transaction are discarded', async () => {
    await expect(
      h.ctx.orm.em.fork().transactional(async (t) => {
        await t.nativeDelete(Article, 2)
        throw new Error('abort')
      }),
    ).rejects.toThrow('abort')
    expect(h.bumps.calls).toHaveLength(0)
  })
})

describe.each(backends)('declaring the tables of raw SQL ($name)', (backend) => {
  const seen: string[] = []
  const h = useHarness(backend, {
    adapter: {
      rawSql: (sql) => {
        seen.push(sql)
        return sql.includes('refresh_counts') ? ['app_users'] : undefined
      },
    },
  })

  test('rawSql: a function decides, undefined falls back to the parser', async () => {
    const em = h.ctx.orm.em.fork() as unknown as SqlEntityManager
    await em.execute('update app_users set name = name where id = 0 /* refresh_counts */')
    expect(h.bumps.bumped(dep.row('app_users', 1))).toBe(true)
    h.bumps.reset()
    await em.execute('update blog_articles set title = title where id = 0')
    expect(h.bumps.bumped(dep.row('blog_articles', 1))).toBe(true)
    expect(h.bumps.bumped(dep.row('app_users', 1))).toBe(false)
    expect(seen.some((s) => s.includes('refresh_counts'))).toBe(true)
  })
})

describe.each(backends)("rawSql: 'ignore' and 'all' ($name)", (backend) => {
  const ignoring = useHarness(backend, { adapter: { rawSql: 'ignore' } })

  test("'ignore' leaves raw SQL to the application", async () => {
    await (ignoring.ctx.orm.em.fork() as unknown as SqlEntityManager).execute(
      'update app_users set name = name',
    )
    expect(ignoring.bumps.calls).toHaveLength(0)
  })
})

describe.each(backends)("rawSql: 'all' ($name)", (backend) => {
  const all = useHarness(backend, { adapter: { rawSql: 'all' } })

  test("'all' invalidates every table for any raw write", async () => {
    await (all.ctx.orm.em.fork() as unknown as SqlEntityManager).execute(
      'update app_users set name = name where id = 0',
    )
    expect(all.bumps.bumped(dep.row('blog_articles', 1), dep.row('app_groups', 10))).toBe(true)
  })
})

describe.each(backends)('silentWrites: false ($name)', (backend) => {
  const h = useHarness(backend, { adapter: { silentWrites: false } })

  test('native calls are left to the application; flushes and upserts are still captured', async () => {
    const em = () => h.ctx.orm.em.fork()
    await em().nativeUpdate(Article, 1, { title: 'not captured' })
    expect(h.bumps.calls).toHaveLength(0)
    await em().upsert(Article, { id: 2, title: 'captured', published: true, category: 'tech', author: 2 })
    expect(h.bumps.bumped(dep.row('blog_articles', 2))).toBe(true)
    h.bumps.reset()
    const e = em()
    ;(await e.findOneOrFail(Article, 1)).title = 'flushed'
    await e.flush()
    expect(h.bumps.bumped(dep.row('blog_articles', 1))).toBe(true)
  })
})
