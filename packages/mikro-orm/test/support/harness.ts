import type { Freshkey } from '@freshkey/core'
import type { Options } from '@mikro-orm/core'
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest'
import { type FreshkeyMikroORM, type FreshkeyMikroOrmOptions, freshkeyMikroORM } from '../../src/index.ts'
import { type Backend, makeFreshkey, type OpenOrm, openOrm } from './backends.ts'
import { entities } from './entities.ts'
import { watchBumps } from './observe.ts'
import { seed } from './seed.ts'

export interface Harness {
  ctx: OpenOrm
  fk: Freshkey
  handle: FreshkeyMikroORM
  bumps: ReturnType<typeof watchBumps>
  errors: unknown[]
}

/**
 * One ORM per describe block (one database), a fresh freshkey instance and registration per test,
 * the seed data written before the bump log starts.
 */
export function useHarness(
  backend: Backend,
  options: { orm?: Partial<Options>; adapter?: FreshkeyMikroOrmOptions } = {},
): Harness {
  const h = { errors: [] } as unknown as Harness
  beforeAll(async () => {
    h.ctx = await openOrm(backend.db, { entities, ...options.orm })
  })
  afterAll(() => h.ctx.close())
  beforeEach(async () => {
    await h.ctx.clear()
    h.fk = makeFreshkey(backend.store)
    h.errors = []
    h.handle = freshkeyMikroORM(h.ctx.orm, h.fk, { onError: (e) => h.errors.push(e), ...options.adapter })
    await seed(h.ctx.orm.em)
    await h.fk.idle()
    h.bumps = watchBumps(h.fk)
  })
  afterEach(async () => {
    h.handle.dispose()
    h.bumps.stop()
    await h.fk.close()
    await h.fk.store.close()
  })
  return h
}
