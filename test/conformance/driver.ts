import type { Freshkey } from '@freshkey/core'

/**
 * One ORM, seen through the same blog schema, so the same scenario runs on every adapter.
 *
 * Schema (create it with SQL; table names are deliberately custom):
 * - entity `User`       → table `app_users`      (id integer pk, name text)
 * - entity `Article`    → table `blog_articles`  (id integer pk, title text, published boolean,
 *                          category text, author_id integer → app_users.id); declared scope
 *                          `['published', 'category']` (decorator or `fk.defineScope`)
 * - entity `Membership` → table `memberships`    (composite pk user_id + group_id, role text)
 *
 * Property names are camelCase (`authorId`, `userId`, `groupId`); column names snake_case.
 */
export interface ConformanceDriver {
  /** Adapter name for test titles. */
  readonly name: string
  /** Creates the schema on a fresh database and registers freshkey on the ORM client. */
  open(options: { db: 'sqlite' | 'postgres'; databaseUrl?: string; fk: Freshkey }): Promise<OrmSession>
}

export interface ArticleData {
  id: number
  title: string
  published: boolean
  category: string
  authorId: number
}

/** Operations every adapter performs with its ORM's idiomatic API. */
export interface OrmSession {
  insertUser(user: { id: number; name: string }): Promise<void>
  insertArticle(article: ArticleData): Promise<void>
  /** Load the entity, change it, save it (the ORM knows the before image where it can). */
  updateArticle(id: number, patch: Partial<Omit<ArticleData, 'id'>>): Promise<void>
  /** Load the entity and remove it. */
  deleteArticle(id: number): Promise<void>
  /** Insert or update by primary key with the ORM's upsert. */
  upsertArticle(article: ArticleData): Promise<void>
  /** Update every article of a category without loading them (updateMany / QueryBuilder / nativeUpdate). */
  bulkUpdateArticles(category: string, patch: Partial<Omit<ArticleData, 'id'>>): Promise<void>
  /** Delete every article of a category without loading them. */
  bulkDeleteArticles(category: string): Promise<void>
  /** Update one article by primary key without loading it (repository.update / update / nativeUpdate). */
  updateArticleById(id: number, patch: Partial<Omit<ArticleData, 'id'>>): Promise<void>
  insertMembership(m: { userId: number; groupId: number; role: string }): Promise<void>
  updateMembership(userId: number, groupId: number, role: string): Promise<void>
  /** Runs `fn` in a transaction; a throw inside rolls back and is rethrown. */
  transaction(fn: (session: OrmSession) => Promise<void>): Promise<void>
  /** Inside `transaction`: a nested transaction (savepoint); a throw inside rolls back only it and is rethrown. */
  nested(fn: (session: OrmSession) => Promise<void>): Promise<void>
  /** The loaded entity/record, for `fk.keyFor(entity)`. */
  loadArticle(id: number): Promise<object>
  loadMembership(userId: number, groupId: number): Promise<object>
  /** The entity class / model token that `fk.keyFor` maps to the articles table. */
  readonly articleTarget: unknown
  /** Finds articles of a category through the ORM's own result cache (`cache: true` & co). */
  cachedArticlesByCategory(category: string): Promise<{ id: number; title: string }[]>
  /** Closes the ORM client and drops the database. */
  close(): Promise<void>
}
