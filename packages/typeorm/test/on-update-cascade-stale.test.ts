import 'reflect-metadata'
import { createFreshkey, dep, memoryStore } from '@freshkey/core'
import { freshkeyTypeORM } from '@freshkey/typeorm'
import { DataSource, EntitySchema } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freshPostgres } from './support/postgres.ts'
import { serviceUrl } from './support/services.ts'

// Regression: a QueryBuilder/repository update of a referenced column (the key, or another unique
// column) fired no ON UPDATE cascade, so rows the database rewrote in other tables stayed cached.
const Post = new EntitySchema<{ id: number; code: string }>({
  name: 'CascadePost',
  tableName: 'cu_posts',
  columns: { id: { type: Number, primary: true }, code: { type: String, unique: true } },
})
const Comment = new EntitySchema<{
  id: number
  postId: number
  postCode: string
  post?: unknown
  byCode?: unknown
}>({
  name: 'CascadeComment',
  tableName: 'cu_comments',
  columns: { id: { type: Number, primary: true }, postId: { type: Number }, postCode: { type: String } },
  relations: {
    post: { type: 'many-to-one', target: 'CascadePost', joinColumn: { name: 'postId' }, onUpdate: 'CASCADE' },
    byCode: {
      type: 'many-to-one',
      target: 'CascadePost',
      joinColumn: { name: 'postCode', referencedColumnName: 'code' },
      onUpdate: 'CASCADE',
    },
  },
})

describe.skipIf(!serviceUrl('DATABASE_URL'))('ON UPDATE CASCADE (PostgreSQL)', () => {
  let ds: DataSource
  let drop: () => Promise<void>
  const fk = createFreshkey({ store: memoryStore(), namespace: 'on-update-cascade' })
  beforeAll(async () => {
    const db = await freshPostgres()
    drop = db.drop
    ds = new DataSource({ type: 'postgres', url: db.url, entities: [Post, Comment], synchronize: true })
    freshkeyTypeORM(ds, fk)
    await ds.initialize()
  })
  afterAll(async () => {
    await ds?.destroy()
    await drop?.()
  })

  const cachedComment = () =>
    fk.wrap(['v', dep.row('cu_comments', 5)], async () =>
      ds.getRepository(Comment).findOneByOrFail({ id: 5 }),
    )

  it('repository.update of the key invalidates the rows the database rewrote', async () => {
    await ds.getRepository(Post).save({ id: 1, code: 'a' })
    await ds.getRepository(Comment).save({ id: 5, postId: 1, postCode: 'a' })
    expect((await cachedComment()).postId).toBe(1)
    await ds.getRepository(Post).update({ id: 1 }, { id: 100 })
    expect((await cachedComment()).postId).toBe(100)
  })

  it('save() of a referenced unique column invalidates the rows the database rewrote', async () => {
    expect((await cachedComment()).postCode).toBe('a')
    const post = await ds.getRepository(Post).findOneByOrFail({ id: 100 })
    post.code = 'b'
    await ds.getRepository(Post).save(post)
    expect((await cachedComment()).postCode).toBe('b')
  })
})
