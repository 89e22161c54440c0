import { Scope } from '@freshkey/core'
import { defineEntity, p } from '@mikro-orm/core'

export const GroupSchema = defineEntity({
  name: 'Group',
  tableName: 'app_groups',
  properties: {
    id: p.integer().primary().autoincrement(false),
    name: p.string(),
  },
})
export class Group extends GroupSchema.class {}
GroupSchema.setClass(Group)

export const UserSchema = defineEntity({
  name: 'User',
  tableName: 'app_users',
  properties: {
    id: p.integer().primary().autoincrement(false),
    name: p.string(),
    groups: () => p.manyToMany(Group).owner().pivotTable('user_groups'),
  },
})
export class User extends UserSchema.class {}
UserSchema.setClass(User)

export const ArticleSchema = defineEntity({
  name: 'Article',
  tableName: 'blog_articles',
  properties: {
    id: p.integer().primary(),
    title: p.string(),
    published: p.boolean(),
    category: p.string(),
    author: () => p.manyToOne(User).fieldName('author_id').deleteRule('cascade'),
  },
})
@Scope(['published', 'category'])
export class Article extends ArticleSchema.class {}
ArticleSchema.setClass(Article)

export const CommentSchema = defineEntity({
  name: 'Comment',
  tableName: 'article_comments',
  properties: {
    id: p.integer().primary().autoincrement(false),
    body: p.string(),
    createdAt: p.datetime().nullable(),
    article: () => p.manyToOne(Article).fieldName('article_id').deleteRule('cascade'),
  },
})
export class Comment extends CommentSchema.class {}
CommentSchema.setClass(Comment)

export const MembershipSchema = defineEntity({
  name: 'Membership',
  tableName: 'memberships',
  properties: {
    userId: p.integer().primary().fieldName('user_id'),
    groupId: p.integer().primary().fieldName('group_id'),
    role: p.string(),
  },
})
export class Membership extends MembershipSchema.class {}
MembershipSchema.setClass(Membership)

export const entities = [UserSchema, GroupSchema, ArticleSchema, CommentSchema, MembershipSchema]
