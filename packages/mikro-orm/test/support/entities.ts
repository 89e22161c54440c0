import { Collection, EntitySchema } from '@mikro-orm/core'

// Plain classes with EntitySchema: the same entities run on MikroORM 6 and 7 (no decorators, no
// defineEntity class helpers, which 6 lacks).

export class Group {
  id!: number
  name!: string
}
export class User {
  id!: number
  name!: string
  groups = new Collection<Group>(this)
  articles = new Collection<Article>(this)
}
export class Article {
  id!: number
  title!: string
  published!: boolean
  category!: string
  author!: User
  comments = new Collection<Comment>(this)
}
export class Comment {
  id!: number
  body!: string
  createdAt?: Date | null
  article!: Article
}
export class Membership {
  userId!: number
  groupId!: number
  role!: string
}

export const GroupSchema = new EntitySchema<Group>({
  class: Group,
  tableName: 'app_groups',
  properties: { id: { type: 'integer', primary: true, autoincrement: false }, name: { type: 'string' } },
})
export const UserSchema = new EntitySchema<User>({
  class: User,
  tableName: 'app_users',
  properties: {
    id: { type: 'integer', primary: true, autoincrement: false },
    name: { type: 'string' },
    groups: { kind: 'm:n', entity: () => Group, owner: true, pivotTable: 'user_groups' },
    articles: { kind: '1:m', entity: () => Article, mappedBy: 'author' },
  },
})
export const ArticleSchema = new EntitySchema<Article>({
  class: Article,
  tableName: 'blog_articles',
  properties: {
    id: { type: 'integer', primary: true },
    title: { type: 'string' },
    published: { type: 'boolean' },
    category: { type: 'string' },
    author: { kind: 'm:1', entity: () => User, fieldName: 'author_id', deleteRule: 'cascade' },
    comments: { kind: '1:m', entity: () => Comment, mappedBy: 'article' },
  },
})
export const CommentSchema = new EntitySchema<Comment>({
  class: Comment,
  tableName: 'article_comments',
  properties: {
    id: { type: 'integer', primary: true, autoincrement: false },
    body: { type: 'string' },
    createdAt: { type: 'datetime', nullable: true },
    article: { kind: 'm:1', entity: () => Article, fieldName: 'article_id', deleteRule: 'cascade' },
  },
})
export const MembershipSchema = new EntitySchema<Membership>({
  class: Membership,
  tableName: 'memberships',
  properties: {
    userId: { type: 'integer', primary: true, fieldName: 'user_id' },
    groupId: { type: 'integer', primary: true, fieldName: 'group_id' },
    role: { type: 'string' },
  },
})

export const entities = [UserSchema, GroupSchema, ArticleSchema, CommentSchema, MembershipSchema]
