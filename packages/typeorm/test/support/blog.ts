import type { Freshkey } from '@freshkey/core'
import type { DataSource } from 'typeorm'
import { type FreshkeyTypeORMOptions, freshkeyTypeORM, type TypeORMBinding } from '../../src/index.ts'
import { Article, entities, Membership, User } from './entities.ts'
import { type Db, openDataSource, openFreshkey, type StoreKind } from './services.ts'

/** A blog database with freshkey installed, seeded with two users and three articles. */
export interface Blog {
  ds: DataSource
  fk: Freshkey
  handle: TypeORMBinding
  close: () => Promise<void>
}

export async function openBlog(
  db: Db,
  store: StoreKind,
  options: FreshkeyTypeORMOptions = {},
): Promise<Blog> {
  const { ds, close: closeDs } = await openDataSource(db, entities)
  const { fk, close: closeFk } = openFreshkey(store)
  const handle = freshkeyTypeORM(ds, fk, options)
  await ds.getRepository(User).save([
    { id: 1, name: 'ada' },
    { id: 2, name: 'bob' },
  ])
  await ds.getRepository(Article).save([
    { id: 1, title: 'one', published: true, category: 'news', authorId: 1 },
    { id: 2, title: 'two', published: false, category: 'news', authorId: 1 },
    { id: 3, title: 'three', published: true, category: 'tech', authorId: 2 },
  ])
  await ds.getRepository(Membership).save({ userId: 1, groupId: 7, role: 'member' })
  return {
    ds,
    fk,
    handle,
    close: async () => {
      handle.dispose()
      await closeDs()
      await closeFk()
    },
  }
}
