import { defineEntity, p } from '@mikro-orm/core'

// defineEntity needs no decorators, so plain `node demo.ts` runs this file.

export const UserSchema = defineEntity({
  name: 'User',
  tableName: 'example_users',
  properties: {
    id: p.integer().primary().autoincrement(false),
    name: p.string(),
  },
})
export class User extends UserSchema.class {}
UserSchema.setClass(User)

export const ArticleSchema = defineEntity({
  name: 'Article',
  tableName: 'example_articles',
  properties: {
    id: p.integer().primary().autoincrement(false),
    title: p.string(),
    published: p.boolean(),
    category: p.string(),
    author: () => p.manyToOne(User).fieldName('author_id'),
  },
})
export class Article extends ArticleSchema.class {}
ArticleSchema.setClass(Article)

export const entities = [UserSchema, ArticleSchema]
