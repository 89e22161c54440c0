import { EntitySchema } from 'typeorm'

// EntitySchema with classes as targets: plain `node` runs this file (no decorators needed). No
// scope is declared: cached reads register the filters they use by themselves.

export class User {
  id!: number
  name!: string
}

export class Article {
  id!: number
  title!: string
  published!: boolean
  category!: string
  authorId!: number
  author?: User
}

export const entities = [
  new EntitySchema<User>({
    name: 'User',
    target: User,
    tableName: 'example_users',
    columns: { id: { type: 'integer', primary: true }, name: { type: 'varchar' } },
  }),
  new EntitySchema<Article>({
    name: 'Article',
    target: Article,
    tableName: 'example_articles',
    columns: {
      id: { type: 'integer', primary: true },
      title: { type: 'varchar' },
      published: { type: 'boolean' },
      category: { type: 'varchar' },
      authorId: { type: 'integer', name: 'author_id' },
    },
    relations: {
      author: { type: 'many-to-one', target: 'User', joinColumn: { name: 'author_id' }, onDelete: 'CASCADE' },
    },
  }),
]
