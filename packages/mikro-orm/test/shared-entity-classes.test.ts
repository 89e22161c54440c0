import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { freshkeyMikroORM } from '../src/index.ts'
import { backends, makeFreshkey, type OpenOrm, openOrm } from './support/backends.ts'
import { Article, entities, User } from './support/entities.ts'

// Regression (bench/app: stale authors on MikroORM once a second MikroORM instance was open): ORMs
// that share entity classes each set `__meta` on the shared prototype, the last one discovered
// wins, and the populate hook took the entity's `__meta` for another ORM's and skipped it: the
// populated author was never a dependency.
describe.each(backends.filter((b) => b.db === 'sqlite'))(
  'two ORMs sharing entity classes ($name)',
  (backend) => {
    let first: OpenOrm
    let second: OpenOrm
    const fk = makeFreshkey(backend.store)
    const other = makeFreshkey(backend.store)
    const disposers: (() => void)[] = []
    beforeAll(async () => {
      first = await openOrm('sqlite', { entities })
      disposers.push(freshkeyMikroORM(first.orm, fk).dispose)
      second = await openOrm('sqlite', { entities }) // discovered last: its metadata is on the prototypes
      disposers.push(freshkeyMikroORM(second.orm, other).dispose)
      const e = first.orm.em.fork()
      e.create(User, { id: 1, name: 'Ada' })
      e.create(Article, { id: 1, title: 'One', published: true, category: 'news', author: 1 })
      await e.flush()
    })
    afterAll(async () => {
      for (const d of disposers) d()
      await first.close()
      await second.close()
      await fk.close()
      await other.close()
    })

    test('a populated relation of the first ORM is still a dependency', async () => {
      const load = () =>
        fk.wrap(['article', 1], async () => {
          const a = await first.orm.em.fork().findOneOrFail(Article, 1, { populate: ['author'] })
          return a.author.name
        })
      expect(await load()).toBe('Ada')
      await fk.idle()
      expect(await load()).toBe('Ada')
      expect(fk.stats().hits).toBe(1)
      await first.orm.em.fork().nativeUpdate(User, 1, { name: 'Ada L.' })
      expect(await load()).toBe('Ada L.')
    })
  },
)
