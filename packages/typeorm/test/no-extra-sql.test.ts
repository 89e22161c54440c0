import type { Freshkey } from '@freshkey/core'
import type { DataSource, Logger } from 'typeorm'
import { afterEach, describe, expect, test } from 'vitest'
import { freshkeyTypeORM } from '../src/index.ts'
import { Article, entities, Membership, Tag, User } from './support/entities.ts'
import { combos, openDataSource, openFreshkey } from './support/services.ts'

// Issue 11: freshkey adds no statement to what TypeORM sends (no before images, no locks, no
// probes), so TypeORM's own test suite sees the same SQL with the adapter installed (one
// autocommit update also returns its row's scheme fields). Checked by
// logging every statement of one representative workload with and without the binding.

function statementLog(): { logger: Logger; statements: string[] } {
  const statements: string[] = []
  const none = () => {}
  return {
    statements,
    logger: {
      logQuery: (query) => void statements.push(query),
      logQueryError: none,
      logQuerySlow: none,
      logSchemaBuild: none,
      logMigration: none,
      log: none,
    },
  }
}

async function workload(ds: DataSource, read: <T>(key: string, load: () => Promise<T>) => Promise<T>) {
  const users = ds.getRepository(User)
  const articles = ds.getRepository(Article)
  await users.save([
    { id: 1, name: 'ada' },
    { id: 2, name: 'bob' },
  ])
  await articles.save({ id: 1, title: 'one', published: true, category: 'news', authorId: 1 })
  await articles.insert({ id: 2, title: 'two', published: false, category: 'news', authorId: 2 })
  await read('list', () => articles.find({ where: { category: 'news' }, order: { id: 'ASC' } }))
  await read('page', () => articles.find({ relations: { author: true }, take: 1, order: { id: 'ASC' } }))
  await read('count', () => articles.countBy({ published: true }))
  await read('one', () => articles.findOneBy({ id: 2 }))
  await read('raw', () => ds.query('SELECT count(*) FROM app_users'))
  const a = await articles.findOneByOrFail({ id: 1 })
  a.category = 'tech'
  await articles.save(a)
  await articles.update(2, { category: 'tech' })
  await articles.update({ category: 'tech' }, { published: true })
  await articles.increment({ id: 1 }, 'authorId', 1)
  await articles.upsert({ id: 3, title: 'three', published: true, category: 'x', authorId: 1 }, ['id'])
  await ds.transaction(async (em) => {
    await em.update(Article, 3, { title: 'in tx' })
    await em.transaction((inner) => inner.save(Membership, { userId: 1, groupId: 1, role: 'r' }))
    await read('tx', () => em.findOneBy(Article, { id: 3 }))
  })
  const tags = await ds.getRepository(Tag).save([{ name: 't1' }, { name: 't2' }])
  await ds
    .createQueryBuilder()
    .relation(Article, 'tags')
    .of(1)
    .add(tags.map((t) => t.id))
  await articles.softDelete(3)
  await articles.restore(3)
  await articles.remove(await articles.findOneByOrFail({ id: 3 }))
  await ds.createQueryBuilder().delete().from(Membership).where({ userId: 1, groupId: 1 }).execute()
  await users.delete(2)
}

describe.each(combos)('no extra SQL on %s with %s store', (db, store) => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!()
  })

  async function run(withFreshkey: boolean): Promise<string[]> {
    const log = statementLog()
    const { ds, close } = await openDataSource(db, entities, { logging: ['query'], logger: log.logger })
    cleanups.push(close)
    let fk: Freshkey | undefined
    if (withFreshkey) {
      const f = openFreshkey(store)
      cleanups.push(f.close)
      fk = f.fk
      const binding = freshkeyTypeORM(ds, fk)
      cleanups.push(async () => binding.dispose())
    }
    log.statements.length = 0
    let n = 0
    // Every read goes through fk.wrap under a new key: a miss, so it runs its SQL in both runs.
    await workload(ds, (key, load) => (fk ? fk.wrap(`${key}:${n++}`, load) : load()))
    return log.statements
  }

  test('the same statements reach the database with and without freshkey', async () => {
    const plain = await run(false)
    const watched = await run(true)
    expect(plain.length).toBeGreaterThan(30)
    // On PostgreSQL an autocommit update by key whose SET lacks a scheme field returns the key and
    // that field (its own row: no statement, no lock); the statements are otherwise the same.
    const returning = / RETURNING "id", "published"$/
    const added = watched.filter((q, i) => q !== plain[i])
    // (TypeORM 0.3 spells the key `"id" IN ($2)`, 1.x `"id" = $2`.)
    const byKey =
      /^UPDATE "blog_articles" SET "category" = \$1 WHERE "id" (= \$2|IN \(\$2\)) RETURNING "id", "published"$/
    expect(added).toEqual(db === 'postgres' ? [expect.stringMatching(byKey)] : [])
    expect(watched.map((q) => q.replace(returning, ''))).toEqual(plain)
  })
})
