import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { readdirSync } from 'node:fs'
import { createFreshkey, dep, type Freshkey, memoryStore, type Store } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import pg from 'pg'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { serviceUrl } from '../support/services.ts'
import type { ConformanceDriver, OrmSession } from './driver.ts'

// Every adapter's driver in ./drivers runs the same scenarios; the bumped dependencies must be
// the same set on every ORM, so the expectations below name no ORM.
const driverFiles = readdirSync(new URL('./drivers/', import.meta.url)).filter((f) => f.endsWith('.ts'))
const drivers: ConformanceDriver[] = []
for (const file of driverFiles) {
  const mod = (await import(`./drivers/${file}`)) as Record<string, unknown>
  for (const value of Object.values(mod)) {
    if (value && typeof value === 'object' && 'open' in value && 'name' in value)
      drivers.push(value as ConformanceDriver)
  }
}

const redisUrl = serviceUrl('REDIS_URL')
const databaseUrl = serviceUrl('DATABASE_URL')
const stores: [string, () => Store][] = [['memory', () => memoryStore()]]
if (redisUrl) stores.push(['redis', () => redisStore(redisUrl)])
const dbs: ('sqlite' | 'postgres')[] = databaseUrl ? ['sqlite', 'postgres'] : ['sqlite']

const A = 'blog_articles'
const M = 'memberships'
let seq = 0

async function freshDatabase(name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: databaseUrl })
  await admin.connect()
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name}`)
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(databaseUrl!)
  url.pathname = `/${name}`
  return url.toString()
}

describe.each(drivers.map((d) => [d.name, d] as const))('conformance: %s', (_name, driver) => {
  describe.each(dbs.flatMap((db) => stores.map(([s, make]) => [`${db} + ${s}`, db, make] as const)))(
    '%s',
    (_label, db, makeStore) => {
      let fk: Freshkey
      let store: Store
      let orm: OrmSession
      const bumps: string[][] = []
      const onInvalidate = (msg: unknown) => {
        const m = msg as { namespace: string; keys: readonly string[] }
        if (m.namespace === fk?.namespace)
          bumps.push(m.keys.map((k) => k.slice(fk.keyspace.tag.length + 1)).sort())
      }
      const bumped = () => [...new Set(bumps.flat())].sort()
      const cond = (where: Record<string, unknown>) =>
        fk.tokenKeysOf([dep.scope(A, where)])[1]!.slice(fk.keyspace.tag.length + 1)
      const expectMiss = async (deps: unknown[], after: () => Promise<unknown>, shouldMiss: boolean) => {
        let loads = 0
        const load = async () => ++loads
        await fk.wrap(deps, load)
        await after()
        await fk.wrap(deps, load)
        expect(loads, `expected ${shouldMiss ? 'a miss' : 'a hit'}`).toBe(shouldMiss ? 2 : 1)
      }

      beforeAll(async () => {
        store = makeStore()
        fk = createFreshkey({ store, namespace: `conf-${driver.name}-${process.pid}-${seq++}` })
        fk.defineScope(A, ['published', 'category'])
        const url =
          db === 'postgres'
            ? await freshDatabase(`fk_conf_${driver.name.replace(/\W/g, '_')}_${process.pid}_${seq++}`)
            : undefined
        orm = await driver.open({ db, databaseUrl: url, fk })
        await orm.insertUser({ id: 1, name: 'Ann' })
        await orm.insertUser({ id: 2, name: 'Bob' })
        subscribe('freshkey:invalidate', onInvalidate)
      })
      afterAll(async () => {
        unsubscribe('freshkey:invalidate', onInvalidate)
        await orm?.close()
        await store?.close()
      })
      beforeEach(() => {
        bumps.length = 0
      })

      const article = (id: number, category = 'x', published = true) => ({
        id,
        title: `t${id}`,
        published,
        category,
        authorId: 1,
      })

      it('insert bumps the row, table, global and the scope condition it entered', async () => {
        await orm.insertArticle(article(101))
        expect(bumped()).toEqual(
          [cond({ published: true, category: 'x' }), 'g', `r:${A}:101`, `t:${A}`].sort(),
        )
        expect(bumps).toHaveLength(1)
      })

      it('update of an unscoped field bumps row, table and global only', async () => {
        await orm.insertArticle(article(102))
        bumps.length = 0
        await orm.updateArticle(102, { title: 'new title' })
        expect(bumped()).toEqual(['g', `r:${A}:102`, `t:${A}`].sort())
      })

      it('a row moving between filters bumps the condition it left and the one it entered', async () => {
        await orm.insertArticle(article(103, 'x'))
        bumps.length = 0
        await orm.updateArticle(103, { category: 'y' })
        expect(bumped()).toEqual(
          [
            cond({ published: true, category: 'x' }),
            cond({ published: true, category: 'y' }),
            'g',
            `r:${A}:103`,
            `t:${A}`,
          ].sort(),
        )
      })

      it('delete bumps the row and the condition it left', async () => {
        await orm.insertArticle(article(104, 'z', false))
        bumps.length = 0
        await orm.deleteArticle(104)
        expect(bumped()).toEqual(
          [cond({ published: false, category: 'z' }), 'g', `r:${A}:104`, `t:${A}`].sort(),
        )
      })

      it('update by id without a loaded entity still invalidates both lists', async () => {
        await orm.insertArticle(article(105, 'p'))
        const x = [dep.scope(A, { published: true, category: 'p' })]
        const y = [dep.scope(A, { published: true, category: 'q' })]
        await expectMiss(x, () => orm.updateArticleById(105, { category: 'q' }), true)
        await expectMiss(y, () => orm.updateArticleById(105, { category: 'p' }), true)
        expect(bumped()).toContain(`r:${A}:105`)
      })

      it('upsert invalidates the row and its lists', async () => {
        await orm.insertArticle(article(106, 'u'))
        await expectMiss(
          [dep.row(A, 106), dep.scope(A, { published: true, category: 'u' })],
          () => orm.upsertArticle(article(106, 'v')),
          true,
        )
        await expectMiss(
          [dep.scope(A, { published: true, category: 'w' })],
          () => orm.upsertArticle(article(107, 'w')),
          true,
        )
      })

      it('bulk update and bulk delete bump the table and make every row and list of it miss', async () => {
        await orm.insertArticle(article(108, 'bulk'))
        await expectMiss([dep.row(A, 108)], () => orm.bulkUpdateArticles('bulk', { published: false }), true)
        expect(bumped()).toEqual(expect.arrayContaining([`b:${A}`, 'g', `t:${A}`]))
        bumps.length = 0
        await expectMiss(
          [dep.scope(A, { published: false, category: 'bulk' })],
          () => orm.bulkDeleteArticles('bulk'),
          true,
        )
        expect(bumped()).toEqual(expect.arrayContaining([`b:${A}`, 'g', `t:${A}`]))
      })

      it('composite primary keys name one row', async () => {
        await orm.insertMembership({ userId: 1, groupId: 7, role: 'member' })
        expect(bumped()).toEqual(['g', `r:${M}:groupId=7&userId=1`, `t:${M}`].sort())
        bumps.length = 0
        await expectMiss(
          [dep.row(M, { userId: 1, groupId: 7 })],
          () => orm.updateMembership(1, 7, 'admin'),
          true,
        )
        await expectMiss(
          [dep.row(M, { userId: 2, groupId: 7 })],
          () => orm.updateMembership(1, 7, 'owner'),
          false,
        )
      })

      it('a transaction bumps once, after commit', async () => {
        await orm.transaction(async (s) => {
          await s.insertArticle(article(110))
          await s.updateArticle(110, { title: 'changed' })
          await s.insertArticle(article(111))
          expect(bumps).toHaveLength(0)
        })
        expect(bumps).toHaveLength(1)
        expect(bumped()).toEqual(expect.arrayContaining([`r:${A}:110`, `r:${A}:111`]))
      })

      it('a rolled back transaction bumps nothing', async () => {
        await expect(
          orm.transaction(async (s) => {
            await s.insertArticle(article(112))
            throw new Error('abort')
          }),
        ).rejects.toThrow('abort')
        expect(bumps).toHaveLength(0)
      })

      it('a rolled back savepoint discards only its own changes', async () => {
        await orm.transaction(async (s) => {
          await s.insertArticle(article(113))
          await expect(
            s.nested(async (n) => {
              await n.insertArticle(article(114))
              throw new Error('inner')
            }),
          ).rejects.toThrow('inner')
          await s.nested(async (n) => {
            await n.insertArticle(article(115))
          })
        })
        expect(bumps).toHaveLength(1)
        expect(bumped()).toEqual(expect.arrayContaining([`r:${A}:113`, `r:${A}:115`]))
        expect(bumped()).not.toContain(`r:${A}:114`)
      })

      it('inside a transaction, reads of what it wrote bypass the cache and nothing is stored', async () => {
        await orm.insertArticle(article(116))
        let loads = 0
        const load = async () => ++loads
        await fk.wrap([dep.row(A, 116)], load)
        await orm.transaction(async (s) => {
          await s.updateArticle(116, { title: 'inside' })
          await fk.wrap([dep.row(A, 116)], load)
          await fk.wrap([dep.row(A, 116)], load)
        })
        expect(loads).toBe(3)
        await fk.wrap([dep.row(A, 116)], load)
        expect(loads).toBe(4)
      })

      it('keyFor understands entities and entity classes', async () => {
        await orm.insertArticle(article(117))
        await orm.insertMembership({ userId: 2, groupId: 8, role: 'member' })
        expect(await fk.keyFor(await orm.loadArticle(117))).toBe(await fk.keyFor(dep.row(A, 117)))
        expect(await fk.keyFor(orm.articleTarget)).toBe(await fk.keyFor(dep.table(A)))
        expect(await fk.keyFor(await orm.loadMembership(2, 8))).toBe(
          await fk.keyFor(dep.row(M, { groupId: 8, userId: 2 })),
        )
      })

      it("the ORM's own result cache is invalidated by commits", async () => {
        await orm.insertArticle(article(118, 'rc'))
        expect((await orm.cachedArticlesByCategory('rc')).map((a) => a.id)).toEqual([118])
        expect((await orm.cachedArticlesByCategory('rc')).map((a) => a.id)).toEqual([118])
        await orm.insertArticle(article(119, 'rc'))
        expect((await orm.cachedArticlesByCategory('rc')).map((a) => a.id).sort()).toEqual([118, 119])
        await orm.updateArticle(118, { title: 'renamed' })
        expect((await orm.cachedArticlesByCategory('rc')).find((a) => a.id === 118)?.title).toBe('renamed')
      })
    },
  )
})

describe('conformance drivers', () => {
  it('are present for the adapters in this repository', () => {
    const adapters = readdirSync(new URL('../../packages/', import.meta.url)).filter((p) =>
      ['typeorm', 'mikro-orm', 'prisma'].includes(p),
    )
    const withSources = adapters.filter((p) => {
      try {
        return readdirSync(new URL(`../../packages/${p}/src/`, import.meta.url)).some((f) => f === 'index.ts')
      } catch {
        return false
      }
    })
    expect(drivers.map((d) => d.name).sort()).toEqual(expect.arrayContaining(withSources))
  })
})
