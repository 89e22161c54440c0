import { dep, type Freshkey } from '@freshkey/core'
import { freshkeyMikroORM } from '@freshkey/mikro-orm'
import { EntitySchema } from '@mikro-orm/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Backend, backends, makeFreshkey, type OpenOrm, openOrm } from './support/backends.ts'

// Regression: database cascades were followed one level only; deleting A removed B and C rows
// (A ← B ← C, ON DELETE CASCADE) but only B was invalidated, so cached C rows stayed.
class ChainA {
  id!: number
}
class ChainB {
  id!: number
  a!: ChainA
}
class ChainC {
  id!: number
  b!: ChainB
}
const SchemaA = new EntitySchema({
  class: ChainA,
  tableName: 'chain_a',
  properties: { id: { type: 'number', primary: true } },
})
const SchemaB = new EntitySchema({
  class: ChainB,
  tableName: 'chain_b',
  properties: {
    id: { type: 'number', primary: true },
    a: { kind: 'm:1', entity: () => ChainA, deleteRule: 'cascade' },
  },
})
const SchemaC = new EntitySchema({
  class: ChainC,
  tableName: 'chain_c',
  properties: {
    id: { type: 'number', primary: true },
    b: { kind: 'm:1', entity: () => ChainB, deleteRule: 'cascade' },
  },
})

describe.each(backends.map((b) => [b.name, b] as const))(
  'transitive cascades on %s',
  (_name, backend: Backend) => {
    let open: OpenOrm
    let fk: Freshkey
    beforeAll(async () => {
      open = await openOrm(backend.db, { entities: [SchemaA, SchemaB, SchemaC], allowGlobalContext: true })
      fk = makeFreshkey(backend.store)
      freshkeyMikroORM(open.orm, fk)
    })
    afterAll(async () => {
      await open?.close()
      await fk?.store.close()
    })

    it('deleting the root invalidates every level the database deleted', async () => {
      const em = open.orm.em.fork()
      await em.insert(ChainA, { id: 1 })
      await em.insert(ChainB, { id: 1, a: 1 })
      await em.insert(ChainC, { id: 1, b: 1 })
      const countC = () =>
        fk.wrap(['count:c', dep.table('chain_c')], async () => open.orm.em.fork().count(ChainC, {}))
      expect(await countC()).toBe(1)
      await open.orm.em.fork().nativeDelete(ChainA, { id: 1 })
      expect(await open.orm.em.fork().count(ChainC, {})).toBe(0)
      expect(await countC()).toBe(0)
    })
  },
)
