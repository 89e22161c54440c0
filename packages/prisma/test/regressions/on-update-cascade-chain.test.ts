import { dep } from '@freshkey/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { matrix, watch } from '../support/harness.ts'
import { type Fixture, openFixture } from '../support/setup.ts'

/**
 * Regression: the cascade closures followed ON DELETE chains transitively but ON UPDATE only one
 * step, so a key update of `a` that the database cascaded through `b` into `c` left `c` stale.
 */
describe.each(matrix())('ON UPDATE CASCADE chains on $db with $store store', (combo) => {
  let f: Fixture
  beforeAll(async () => {
    f = await openFixture(combo)
  })
  afterAll(() => f?.close())

  it('update of a.id cascading through b to c bumps c', async () => {
    await f.db.base.chainA.create({ data: { id: 1 } })
    await f.db.base.chainB.create({ data: { id: 10, aId: 1 } })
    await f.db.base.chainC.create({ data: { id: 100, bAId: 1 } })
    const cList = () => f.fk.wrap('chain:c', () => f.prisma.chainC.findMany({ where: { bAId: 1 } }))
    expect(await cList()).toEqual([{ id: 100, bAId: 1 }])
    const w = await watch(f.fk, { a: dep.table('chain_a'), b: dep.table('chain_b'), c: dep.table('chain_c') })
    await f.prisma.chainA.update({ where: { id: 1 }, data: { id: 2 } })
    // The database did follow the chain…
    expect(await f.db.base.chainC.findUniqueOrThrow({ where: { id: 100 } })).toEqual({ id: 100, bAId: 2 })
    // …and so did the invalidation.
    expect(await w.changed()).toEqual(['a', 'b', 'c'])
    expect(await cList()).toEqual([])
  })
})
