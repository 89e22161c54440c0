import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { createFreshkey, dep, type Freshkey, type Store, StoreUnavailableError } from '@freshkey/core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { ConformanceDriver, OrmSession } from './adapter-driver.ts'

/** Where {@link adapterSuite} runs every driver: each database kind with each store. */
export interface AdapterSuiteOptions {
  /** Stores to run on, by name; each factory makes a new store. */
  readonly stores: readonly (readonly [string, () => Store])[]
  /**
   * Makes a new, empty PostgreSQL database and returns its URL (a driver creates its schema in
   * it). Absent: SQLite only.
   */
  readonly postgres?: (name: string) => Promise<string>
}

const A = 'blog_articles'
const M = 'memberships'
const U = 'app_users'
let seq = 0

/** A store whose calls can be made to fail like an unreachable store (errors inside a user's transaction). */
function breakable(inner: Store): { store: Store; broken: { on: boolean } } {
  const broken = { on: false }
  const store = new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target)
      // generation() answers from memory (no I/O): it stays synchronous, as an outage leaves it.
      if (typeof value !== 'function' || prop === 'close' || prop === 'generation')
        return typeof value === 'function' ? value.bind(target) : value
      return (...args: unknown[]) =>
        broken.on
          ? Promise.reject(new StoreUnavailableError(`simulated outage: ${String(prop)}`))
          : value.apply(target, args)
    },
  })
  return { store, broken }
}

/**
 * The adapter conformance suite: every driver runs the same scenarios, on SQLite (and PostgreSQL
 * when `postgres` is given) with every store, and the bumped dependencies must be the same set on
 * every ORM, so the expectations name no ORM. Call it at the top level of a vitest file.
 */
export function adapterSuite(drivers: readonly ConformanceDriver[], options: AdapterSuiteOptions): void {
  const { stores } = options
  const dbs: ('sqlite' | 'postgres')[] = options.postgres ? ['sqlite', 'postgres'] : ['sqlite']
  const freshDatabase = (name: string) => options.postgres!(name)
  describe.each(drivers.map((d) => [d.name, d] as const))('conformance: %s', (_name, driver) => {
    describe.each(dbs.flatMap((db) => stores.map(([s, make]) => [`${db} + ${s}`, db, make] as const)))(
      '%s',
      (_label, db, makeStore) => {
        let fk: Freshkey
        let inner: Store
        let broken: { on: boolean }
        let orm: OrmSession
        const bumps: string[][] = []
        /** `{ns:t:blog_articles}:r:1` → `blog_articles:r:1`, `{ns:g}:g` → `g`, `{ns:x:name}:x` → `x:name`. */
        const short = (key: string) => {
          const m = /^\{[^:]*:(t|x|g)(?::([^}]*))?\}:(.*)$/.exec(key)
          if (!m) return key
          if (m[1] === 'g') return m[3]!
          if (m[1] === 'x') return `x:${m[2]}`
          return `${m[2]}:${m[3]}`
        }
        const onInvalidate = (msg: unknown) => {
          const m = msg as { namespace: string; keys: readonly string[] }
          if (m.namespace === fk?.namespace) bumps.push(m.keys.map(short).sort())
        }
        const bumped = () => [...new Set(bumps.flat())].sort()
        const scopeKeys = (where: Record<string, unknown>) => fk.tokenKeysOf([dep.scope(A, where)]).map(short)
        /** The condition key of a declared scope, and the key of every condition of its field list. */
        const cond = (where: Record<string, unknown>) => scopeKeys(where)[0]!
        /** Every condition of the declared list: a row whose image lacks a field of it. */
        const enterWide = () => scopeKeys({ published: true, category: 'any' }).at(-3)!
        /** Every condition of the declared list with the category of `where`: a row whose image names only its category. */
        const fieldKey = (where: Record<string, unknown>) => scopeKeys(where)[1]!
        /** A row leaving a condition of the declared list, with no before image to name it. */
        const wide = () => scopeKeys({ published: true, category: 'any' }).at(-2)!
        const row = (table: string, pk: string | number) => `${table}:r:${pk}`
        const table = (t: string) => `${t}:t`
        const bulk = (t: string) => `${t}:b`
        const expectMiss = async (deps: unknown[], after: () => Promise<unknown>, shouldMiss: boolean) => {
          let loads = 0
          const load = async () => ++loads
          const key = ['expect-miss', seq++]
          await fk.wrap(key, load, { deps })
          await after()
          await fk.wrap(key, load, { deps })
          expect(loads, `expected ${shouldMiss ? 'a miss' : 'a hit'}`).toBe(shouldMiss ? 2 : 1)
        }

        beforeAll(async () => {
          inner = makeStore()
          const b = breakable(inner)
          broken = b.broken
          fk = createFreshkey({
            store: b.store,
            namespace: `conf-${driver.name}-${process.pid}-${seq++}`,
            logger: false,
          })
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
          await fk?.close()
          await inner?.close()
        })
        beforeEach(async () => {
          broken.on = false
          await fk.idle()
          bumps.length = 0
        })

        const article = (id: number, category = 'x', published = true) => ({
          id,
          title: `t${id}`,
          published,
          category,
          authorId: 1,
        })

        // ------------------------------------------------------------ what each write bumps
        // These run first, before any cached read has registered a filter of its own: only the
        // declared scope ['published', 'category'] is known. No adapter passes before images (the
        // write itself does not return the old row on every ORM), so leaving a declared scope bumps
        // its scope-wide key.

        it('insert bumps the row, table, global and the scope condition it entered', async () => {
          await orm.insertArticle(article(101))
          expect(bumped()).toEqual(
            [cond({ published: true, category: 'x' }), 'g', row(A, 101), table(A)].sort(),
          )
          expect(bumps).toHaveLength(1)
        })

        it('update of an unscoped field bumps row, table and global only', async () => {
          await orm.insertArticle(article(102))
          bumps.length = 0
          await orm.updateArticle(102, { title: 'new title' })
          expect(bumped()).toEqual(['g', row(A, 102), table(A)].sort())
        })

        it('a row moving between filters bumps the condition it entered and, for the one it left, the scope-wide key', async () => {
          await orm.insertArticle(article(103, 'x'))
          bumps.length = 0
          await orm.updateArticle(103, { category: 'y' })
          expect(bumped()).toEqual(
            [cond({ published: true, category: 'y' }), wide(), 'g', row(A, 103), table(A)].sort(),
          )
        })

        it('delete bumps the row and, for the declared scope it leaves, the scope-wide key', async () => {
          await orm.insertArticle(article(104, 'z', false))
          bumps.length = 0
          await orm.deleteArticle(104)
          expect(bumped()).toEqual([wide(), 'g', row(A, 104), table(A)].sort())
        })

        it('update by id without a loaded entity: the row, the key of the scoped field it wrote, and the scope-wide key of the condition it left', async () => {
          await orm.insertArticle(article(105, 'p'))
          await fk.idle()
          bumps.length = 0
          const x = [dep.scope(A, { published: true, category: 'p' })]
          const y = [dep.scope(A, { published: true, category: 'q' })]
          await expectMiss(x, () => orm.updateArticleById(105, { category: 'q' }), true)
          // The values written lack `published`: the conditions with category = 'q' (the one entered
          // among them), or that one condition where the statement returns `published`.
          const entered = driver.returnsSchemeFields?.includes(db)
            ? cond({ published: true, category: 'q' })
            : fieldKey({ published: true, category: 'q' })
          expect(bumped()).toEqual([entered, wide(), 'g', row(A, 105), table(A)].sort())
          await expectMiss(y, () => orm.updateArticleById(105, { category: 'p' }), true)
          bumps.length = 0
          await orm.updateArticleById(105, { title: 'by id' })
          expect(bumped()).toEqual(['g', row(A, 105), table(A)].sort())
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
          await expectMiss(
            [dep.row(A, 108)],
            () => orm.bulkUpdateArticles('bulk', { published: false }),
            true,
          )
          expect(bumped()).toEqual(expect.arrayContaining([bulk(A), 'g', table(A)]))
          bumps.length = 0
          await expectMiss(
            [dep.scope(A, { published: false, category: 'bulk' })],
            () => orm.bulkDeleteArticles('bulk'),
            true,
          )
          expect(bumped()).toEqual(expect.arrayContaining([bulk(A), 'g', table(A)]))
        })

        it('composite primary keys name one row', async () => {
          await orm.insertMembership({ userId: 1, groupId: 7, role: 'member' })
          expect(bumped()).toEqual(['g', row(M, 'groupId=7&userId=1'), table(M)].sort())
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

        it('nested writes bump the rows of both tables', async () => {
          await orm.insertUserWithArticles({ id: 3, name: 'Cy' }, [
            { ...article(130, 'n'), authorId: 3 },
            { ...article(131, 'n'), authorId: 3 },
          ])
          expect(bumped()).toEqual(
            [
              cond({ published: true, category: 'n' }),
              'g',
              row(A, 130),
              row(A, 131),
              table(A),
              row(U, 3),
              table(U),
            ].sort(),
          )
        })

        it('a delete follows ON DELETE CASCADE chains: every table the database changes is bumped', async () => {
          await orm.insertChain(1, 11)
          bumps.length = 0
          await orm.deleteChainA(1)
          expect(bumped()).toEqual(
            [
              'g',
              row('chain_a', 1),
              table('chain_a'),
              bulk('chain_b'),
              table('chain_b'),
              bulk('chain_c'),
              table('chain_c'),
            ].sort(),
          )
        })

        it('a primary-key change is the old row leaving and a new one arriving, and follows ON UPDATE CASCADE chains', async () => {
          await orm.insertChain(2, 12)
          bumps.length = 0
          await orm.updateChainAId(2, 3)
          expect(bumped()).toEqual(
            [
              'g',
              row('chain_a', 2),
              row('chain_a', 3),
              table('chain_a'),
              bulk('chain_b'),
              table('chain_b'),
              bulk('chain_c'),
              table('chain_c'),
            ].sort(),
          )
        })

        it('raw SQL bumps the tables it writes', async () => {
          await orm.insertArticle(article(120))
          bumps.length = 0
          await orm.raw(`UPDATE blog_articles SET title = 'raw' WHERE id = 120`)
          expect(bumped()).toEqual([bulk(A), 'g', table(A)].sort())
        })

        it('a transaction bumps once, after commit', async () => {
          await orm.transaction(async (s) => {
            await s.insertArticle(article(110))
            await s.updateArticle(110, { title: 'changed' })
            await s.insertArticle(article(111))
            expect(bumps).toHaveLength(0)
          })
          expect(bumps).toHaveLength(1)
          expect(bumped()).toEqual(expect.arrayContaining([row(A, 110), row(A, 111)]))
        })

        it('a rolled back transaction bumps nothing', async () => {
          await expect(
            orm.transaction(async (s) => {
              await s.insertArticle(article(112))
              throw new Error('abort')
            }),
          ).rejects.toThrow('abort')
          await fk.idle()
          expect(bumps).toHaveLength(0)
        })

        // Declared only where the ORM has nested transactions (not on Prisma 6).
        const withSavepoints = driver.savepoints === false ? () => {} : it
        withSavepoints('a rolled back savepoint discards only its own changes', async () => {
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
          expect(bumped()).toEqual(expect.arrayContaining([row(A, 113), row(A, 115)]))
          expect(bumped()).not.toContain(row(A, 114))
        })

        it('a transaction whose start the adapter did not see is still bumped by the time it returns', async () => {
          await orm.unseenTransaction(async (s) => {
            await s.insertArticle(article(140))
          })
          expect(bumped()).toEqual(expect.arrayContaining([row(A, 140), table(A)]))
        })

        it('errors inside a user transaction never fail it: with the store down, the writes commit', async () => {
          broken.on = true
          await orm.transaction(async (s) => {
            await s.insertArticle(article(150))
            await s.updateArticle(150, { title: 'during outage' })
          })
          await orm.updateArticleById(150, { category: 'outage' })
          broken.on = false
          expect(await fk.keyFor(await orm.loadArticle(150))).toBe(await fk.keyFor(dep.row(A, 150)))
          expect((await orm.listArticles('outage')).map((a) => a.title)).toEqual(['during outage'])
        })

        it('inside a transaction, reads of what it wrote bypass the cache and nothing is stored', async () => {
          await orm.insertArticle(article(116))
          let loads = 0
          const load = async () => ++loads
          const deps = [dep.row(A, 116)]
          await fk.wrap('ryw', load, { deps })
          await orm.transaction(async (s) => {
            await s.updateArticle(116, { title: 'inside' })
            await fk.wrap('ryw', load, { deps })
            await fk.wrap('ryw', load, { deps })
          })
          expect(loads).toBe(3)
          await fk.wrap('ryw', load, { deps })
          expect(loads).toBe(4)
        })

        it('a load that reads inside a transaction is served, never stored, and neither are the loads around it', async () => {
          await orm.insertArticle({ ...article(160), published: true, category: 'txread' })
          let loads = 0
          const inTx = async () => {
            let rows: { id: number; title: string }[] = []
            await orm.transaction(async (s) => {
              rows = await s.listArticles('txread')
            })
            return rows
          }
          const read = () =>
            fk.wrap('tx-outer', () => {
              loads++
              return fk.wrap('tx-inner', inTx)
            })
          expect((await read()).map((r) => r.id)).toEqual([160])
          await fk.idle()
          await read()
          expect(loads).toBe(2)
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

        // ------------------------------------------------------------ automatic dependencies
        // Cached reads with no declared dependency depend on the rows and filters their queries read.

        const counted = <T>(read: () => Promise<T>) => {
          const calls = { n: 0 }
          return Object.assign(
            async () => {
              calls.n++
              return read()
            },
            { calls },
          )
        }

        it('a list cached with no declared deps misses when a member changes or a member arrives, and only then', async () => {
          await orm.insertArticle(article(201, 'auto'))
          await orm.insertArticle(article(209, 'elsewhere'))
          const load = counted(() => orm.listArticles('auto'))
          const list = () => fk.wrap(['list', 'auto'], load)
          expect((await list()).map((a) => a.id)).toEqual([201])
          expect((await list()).map((a) => a.id)).toEqual([201])
          expect(load.calls.n).toBe(1)
          await orm.updateArticle(201, { title: 'retitled' })
          expect((await list()).map((a) => a.title)).toEqual(['retitled'])
          expect(load.calls.n).toBe(2)
          await orm.insertArticle(article(202, 'auto'))
          expect((await list()).map((a) => a.id)).toEqual([201, 202])
          expect(load.calls.n).toBe(3)
          await orm.updateArticle(209, { title: 'not a member' })
          await orm.insertArticle(article(210, 'elsewhere'))
          expect((await list()).map((a) => a.id)).toEqual([201, 202])
          expect(load.calls.n).toBe(3)
          await orm.updateArticleById(202, { published: false })
          expect((await list()).map((a) => a.id)).toEqual([201])
          expect(load.calls.n).toBe(4)
          await orm.deleteArticle(201)
          expect(await list()).toEqual([])
          expect(load.calls.n).toBe(5)
        })

        it('a count cached with no declared deps misses when a row enters or leaves its filter, not when one is retitled', async () => {
          await orm.insertArticle(article(221, 'counted'))
          const load = counted(() => orm.countArticles('counted'))
          const count = () => fk.wrap(['count', 'counted'], load)
          expect(await count()).toBe(1)
          expect(await count()).toBe(1)
          await orm.updateArticle(221, { title: 'retitled' })
          expect(await count()).toBe(1)
          expect(load.calls.n).toBe(1)
          await orm.insertArticle(article(222, 'counted'))
          expect(await count()).toBe(2)
          await orm.updateArticleById(222, { category: 'elsewhere' })
          expect(await count()).toBe(1)
          await orm.deleteArticle(221)
          expect(await count()).toBe(0)
          expect(load.calls.n).toBe(4)
        })

        it('an update by id that writes one field of a two-field filter misses only the lists with its value', async () => {
          await orm.insertArticle(article(241, 'fa'))
          await orm.insertArticle(article(242, 'fb'))
          const loads = Object.fromEntries(
            ['fa', 'fb', 'fc'].map((c) => [c, counted(() => orm.listArticles(c))] as const),
          )
          const lists = async () => {
            const out: Record<string, number[]> = {}
            for (const [c, load] of Object.entries(loads))
              out[c] = (await fk.wrap(['fields', c], load)).map((a) => a.id)
            return out
          }
          const calls = () => Object.fromEntries(Object.entries(loads).map(([c, l]) => [c, l.calls.n]))
          expect(await lists()).toEqual({ fa: [241], fb: [242], fc: [] })
          await fk.idle()
          bumps.length = 0
          await orm.updateArticleById(242, { category: 'fc' })
          // Not the scheme-wide key: the key of category = 'fc' (or, where the ORM returns the row, its condition).
          expect(bumped().filter((k) => k.startsWith(`${A}:w:`) && !k.endsWith(':l'))).not.toContain(
            enterWide(),
          )
          expect(await lists()).toEqual({ fa: [241], fb: [], fc: [242] })
          expect(calls()).toEqual({ fa: 1, fb: 2, fc: 2 })
          await orm.updateArticleById(241, { published: false })
          expect(await lists()).toEqual({ fa: [], fb: [], fc: [242] })
          expect(calls()).toEqual({ fa: 2, fb: 2, fc: 2 })
        })

        it("the ORM's own result cache depends on what the query read, not on the whole table", async () => {
          await orm.insertArticle(article(118, 'rc'))
          await orm.insertArticle(article(119, 'rc-other'))
          expect((await orm.cachedArticlesByCategory('rc')).map((a) => a.id)).toEqual([118])
          const hits = fk.stats().hits
          expect((await orm.cachedArticlesByCategory('rc')).map((a) => a.id)).toEqual([118])
          expect(fk.stats().hits).toBe(hits + 1)
          await orm.updateArticle(119, { title: 'another category' })
          expect((await orm.cachedArticlesByCategory('rc')).map((a) => a.id)).toEqual([118])
          expect(fk.stats().hits).toBe(hits + 2)
          await orm.insertArticle(article(123, 'rc'))
          expect((await orm.cachedArticlesByCategory('rc')).map((a) => a.id)).toEqual([118, 123])
          await orm.updateArticle(118, { title: 'renamed' })
          expect((await orm.cachedArticlesByCategory('rc')).find((a) => a.id === 118)?.title).toBe('renamed')
        })
      },
    )
  })
}
