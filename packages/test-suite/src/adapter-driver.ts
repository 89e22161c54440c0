import type { Freshkey } from '@freshkey/core'

/**
 * One ORM, seen through the same schema, so the same scenarios run on every adapter.
 *
 * Schema (create it with SQL; table names are deliberately custom):
 * - entity `User`       → table `app_users`      (id integer pk, name text)
 * - entity `Article`    → table `blog_articles`  (id integer pk, title text, published boolean,
 *                          category text, author_id integer → app_users.id); declared scope
 *                          `['published', 'category']` (decorator or `fk.defineScope`)
 * - entity `Membership` → table `memberships`    (composite pk user_id + group_id, role text)
 * - entities `ChainA`, `ChainB`, `ChainC` → tables `chain_a` (id integer pk, label text),
 *   `chain_b` (a_id integer pk → chain_a.id ON DELETE CASCADE ON UPDATE CASCADE, label text),
 *   `chain_c` (id integer pk, b_id integer → chain_b.a_id ON DELETE CASCADE ON UPDATE CASCADE,
 *   label text): a chain of database-side effects two hops long. Declare the foreign keys in the
 *   ORM's metadata with their actions (relations with `onDelete`/`onUpdate`, `deleteRule`/
 *   `updateRule`, Prisma `onDelete`/`onUpdate`).
 * - `User.articles`: the one-to-many relation of articles by `authorId` (for nested writes).
 *
 * Property names are camelCase (`authorId`, `userId`, `groupId`, `aId`, `bId`); column names snake_case.
 */
export interface ConformanceDriver {
  /** False when the ORM has no nested transactions (Prisma 6): the savepoint scenarios are not declared for it. */
  readonly savepoints?: boolean
  /**
   * Databases on which an update by id returns its row's scheme fields the SET lacks (TypeORM's
   * `RETURNING` on PostgreSQL), so it names the condition it entered instead of a field key.
   */
  readonly returnsSchemeFields?: readonly ('sqlite' | 'postgres')[]
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
  /** Load the entity, change it, save it. */
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
  /** A user and its articles in one call, with the ORM's nested/cascading write (Prisma nested create, cascade persist). */
  insertUserWithArticles(user: { id: number; name: string }, articles: readonly ArticleData[]): Promise<void>
  /** Inserts `chain_a(id)`, `chain_b(a_id = id)`, `chain_c(cId, b_id = id)`. */
  insertChain(id: number, cId: number): Promise<void>
  /** Deletes `chain_a` row `id` (the database deletes its chain_b and chain_c rows). */
  deleteChainA(id: number): Promise<void>
  /** Changes the primary key of `chain_a` row `id` to `newId` (the database rewrites chain_b, then chain_c). */
  updateChainAId(id: number, newId: number): Promise<void>
  /** Runs a raw SQL statement through the ORM's raw query API (`query`, `execute`, `$executeRawUnsafe`). */
  raw(sql: string): Promise<void>
  /** Runs `fn` in a transaction; a throw inside rolls back and is rethrown. */
  transaction(fn: (session: OrmSession) => Promise<void>): Promise<void>
  /** Inside `transaction`: a nested transaction (savepoint); a throw inside rolls back only it and is rethrown. */
  nested(fn: (session: OrmSession) => Promise<void>): Promise<void>
  /**
   * Runs `fn` in a transaction whose start the adapter cannot have seen (e.g. begun on a
   * connection before the adapter was registered on it, or with raw `BEGIN`), then commits it.
   */
  unseenTransaction(fn: (session: OrmSession) => Promise<void>): Promise<void>
  /** The loaded entity/record, for `fk.keyFor(entity)`. */
  loadArticle(id: number): Promise<object>
  loadMembership(userId: number, groupId: number): Promise<object>
  /** The entity class / model token that `fk.keyFor` maps to the articles table. */
  readonly articleTarget: unknown
  /** The published articles of a category, ordered by id, through the ORM's plain query API (no cache). */
  listArticles(category: string): Promise<{ id: number; title: string }[]>
  /** How many published articles a category has, through the ORM's count API (no cache). */
  countArticles(category: string): Promise<number>
  /** The published articles of a category, ordered by id, through the ORM's own result cache (`cache: true` & co). */
  cachedArticlesByCategory(category: string): Promise<{ id: number; title: string }[]>
  /** Closes the ORM client and drops the database. */
  close(): Promise<void>
}
