import { ReadFrame, type ReadRecord } from '@freshkey/core/adapter'
import type { SqlEntityManager } from '@mikro-orm/sql'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { backends } from './support/backends.ts'
import { Article, User } from './support/entities.ts'
import { useHarness } from './support/harness.ts'

// A read hook that silently stops firing would make cached values depend on nothing: each read
// path must report what it read to the loader's frame, fenced before its query.
describe.each(backends)('every read hook fires inside a cached loader ($name)', (backend) => {
  const h = useHarness(backend)
  const em = () => h.ctx.orm.em.fork() as unknown as SqlEntityManager
  let records: ReadRecord[] = []
  let fenced: string[] = []
  const saved = { read: ReadFrame.prototype.read, beforeQuery: ReadFrame.prototype.beforeQuery }
  beforeEach(() => {
    records = []
    fenced = []
    ReadFrame.prototype.read = function (this: ReadFrame, r: ReadRecord) {
      if (!this.parent) records.push(r)
      return saved.read.call(this, r)
    }
    ReadFrame.prototype.beforeQuery = function (this: ReadFrame, tables: Iterable<string>) {
      const list = [...tables]
      if (!this.parent) fenced.push(...list)
      return saved.beforeQuery.call(this, list)
    }
  })
  afterEach(() => Object.assign(ReadFrame.prototype, saved))

  const inLoader = async (name: string, load: () => Promise<unknown>) => {
    records = []
    fenced = []
    await h.fk.wrap(name, async () => JSON.parse(JSON.stringify((await load()) ?? null)))
    return { records, fenced }
  }

  test('driver.find: rows and filter, fenced before the query', async () => {
    const { records, fenced } = await inLoader('find', () => em().find(Article, { category: 'tech' }))
    expect(fenced).toContain('blog_articles')
    expect(records).toContainEqual({
      table: 'blog_articles',
      rows: [2],
      where: [{ category: 'tech' }],
      watch: ['category'],
    })
  })

  test('driver.count: a filter that names no rows', async () => {
    const { records } = await inLoader('count', () => em().count(Article, { published: true }))
    expect(records).toContainEqual({
      table: 'blog_articles',
      where: [{ published: true }],
      watch: ['published'],
      enumerates: false,
    })
  })

  test('EntityLoader.populate: an identity-map hit and its populated relations', async () => {
    const e = em()
    await e.findOneOrFail(Article, 2, { populate: ['author'] })
    const refused = h.fk.stats().fillsRefused
    const fills = h.fk.stats().fills
    const { records, fenced } = await inLoader('populate', () =>
      e.findOneOrFail(Article, 2, { populate: ['author'] }),
    )
    // No query ran: the rows are from before the load, so nothing vouches for them. Reported (an
    // enclosing load depends on them) but never fenced after the fact: served, not stored.
    expect(fenced).toEqual([])
    expect(h.fk.stats().fills).toBe(fills)
    expect(h.fk.stats().fillsRefused).toBe(refused)
    expect(records).toEqual(
      expect.arrayContaining([
        { table: 'blog_articles', rows: [2] },
        { table: 'app_users', rows: [2] },
      ]),
    )
  })

  test('a to-many relation: a filter on the child foreign key', async () => {
    const { records } = await inLoader('to-many', () =>
      em().find(User, { id: 1 }, { populate: ['articles'] }),
    )
    expect(records).toContainEqual({ table: 'blog_articles', where: [{ author: [1] }], watch: '*' })
  })

  test('QueryBuilder and raw reads: the tables they name, whole', async () => {
    const qb = await inLoader('qb', () =>
      em().createQueryBuilder(Article, 'a').select('*').where({ id: 1 }).getResult(),
    )
    expect(qb.records).toContainEqual({ table: 'blog_articles', whole: true })
    const raw = await inLoader('raw', () => em().execute('select * from app_users'))
    expect(raw.records).toEqual([{ table: 'app_users', whole: true }])
  })

  test('a Kysely read cannot be fenced first: served, never stored', async () => {
    if (typeof (em() as unknown as { getKysely?: unknown }).getKysely !== 'function') return
    let loads = 0
    const load = () =>
      h.fk.wrap('kysely', async () => {
        loads++
        const k = (
          em() as unknown as {
            getKysely(): { selectFrom(t: string): { selectAll(): { execute(): Promise<unknown[]> } } }
          }
        ).getKysely()
        return (await k.selectFrom('app_users').selectAll().execute()).length
      })
    expect(await load()).toBe(2)
    expect(await load()).toBe(2)
    expect(loads).toBe(2)
  })
})
