import 'reflect-metadata'
import { dep, Scope } from '@freshkey/core'
import { Entity, PrimaryKey, Property } from '@mikro-orm/decorators/legacy'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { freshkeyMikroORM } from '../src/index.ts'
import { backends, makeFreshkey, type OpenOrm, openOrm } from './support/backends.ts'
import { watchBumps } from './support/observe.ts'

@Scope(['status'], ['status', 'ownerId'])
@Entity({ tableName: 'decorated_tasks' })
class Task {
  @PrimaryKey({ type: 'integer', autoincrement: false }) id!: number
  @Property({ type: 'string' }) status!: string
  @Property({ type: 'integer', fieldName: 'owner_id' }) ownerId!: number
}

describe.each(backends)('decorated entity classes ($name)', (backend) => {
  let ctx: OpenOrm
  beforeAll(async () => {
    ctx = await openOrm(backend.db, { entities: [Task] })
  })
  afterAll(() => ctx.close())

  test('@Scope on a decorated class is declared at registration and bumps the lists a row moves between', async () => {
    const fk = makeFreshkey(backend.store)
    const handle = freshkeyMikroORM(ctx.orm, fk)
    expect(fk.scopedFields('decorated_tasks')).toEqual(['ownerId', 'status'])
    const e = ctx.orm.em.fork()
    e.create(Task, { id: 1, status: 'open', ownerId: 7 })
    await e.flush()
    const bumps = watchBumps(fk)
    const t = await e.findOneOrFail(Task, 1)
    t.status = 'done'
    await e.flush()
    expect(
      bumps.bumped(
        dep.scope(Task, { status: 'open' }),
        dep.scope(Task, { status: 'done', ownerId: 7 }),
        dep.row('decorated_tasks', 1),
      ),
    ).toBe(true)
    // The condition it entered, precisely (it left the others as a whole: no before image).
    expect(bumps.calls.flat()).toContain(fk.tokenKeysOf([dep.scope(Task, { status: 'done', ownerId: 7 })])[0])
    bumps.stop()
    handle.dispose()
    await fk.store.close()
  })
})
