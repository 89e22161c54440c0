import { dep, type Freshkey } from '@freshkey/core'
import { type FreshkeyPrismaOptions, freshkeyPrisma } from '../../src/index.ts'
import { type DbKind, openDatabase, type TestClient, type TestDatabase } from './clients.ts'
import { newFreshkey, type StoreKind } from './harness.ts'

/** The extended client type of the test schema. */
export type FkClient = ReturnType<typeof extend>

function extend(base: TestClient, fk: Freshkey, options: FreshkeyPrismaOptions) {
  return base.$extends(freshkeyPrisma(fk, options))
}

export interface Fixture {
  readonly db: TestDatabase
  readonly fk: Freshkey
  readonly prisma: FkClient
  /** Empties every table and seeds again (cheaper than a new database per test). */
  reset(): Promise<void>
  /** Another freshkey instance (same store kind) and client on the same database, with other options. */
  variant(options: FreshkeyPrismaOptions): { fk: Freshkey; prisma: FkClient }
  close(): Promise<void>
}

const TABLES = [
  'chain_c',
  'chain_b',
  'chain_a',
  '_ArticleToTag',
  '_GroupToUser',
  'comments',
  'blog_articles',
  'profiles',
  'notes',
  'memberships',
  'tags',
  'groups',
  'app_users',
  'assets',
]

/** Deletes every row outside freshkey (base client) and restarts identities. */
export async function wipe(db: TestDatabase): Promise<void> {
  if (db.kind === 'postgres') {
    await db.base.$executeRawUnsafe(
      `TRUNCATE ${TABLES.map((t) => `"${t}"`).join(', ')} RESTART IDENTITY CASCADE`,
    )
    return
  }
  for (const t of TABLES) await db.base.$executeRawUnsafe(`DELETE FROM "${t}"`)
  await db.base.$executeRawUnsafe('DELETE FROM sqlite_sequence')
}

/** Database + freshkey + extended client; articles scoped by `['published', 'category']`. */
export async function openFixture(
  combo: { db: DbKind; store: StoreKind; databaseUrl?: string; redisUrl?: string },
  options: FreshkeyPrismaOptions = {},
): Promise<Fixture> {
  const db = await openDatabase(combo.db, combo.databaseUrl)
  const { fk, close } = newFreshkey(combo.store, combo.redisUrl)
  const defaults: FreshkeyPrismaOptions = {
    metadata: db.metadata,
    scopes: { Article: ['published', 'category'] },
  }
  const prisma = extend(db.base, fk, { ...defaults, ...options })
  const closers = [close]
  const fks = [fk]
  return {
    db,
    fk,
    prisma,
    async reset() {
      await wipe(db)
      await seed(db)
      // The wipe and the seed ran outside freshkey: values cached by earlier tests must not survive them.
      for (const k of fks) await k.invalidate(...TABLES.map((t) => dep.table(t)))
      for (const k of fks) await k.idle()
    },
    variant(more) {
      const other = newFreshkey(combo.store, combo.redisUrl)
      closers.push(other.close)
      fks.push(other.fk)
      return { fk: other.fk, prisma: extend(db.base, other.fk, { ...defaults, ...more }) }
    },
    async close() {
      await db.close()
      for (const c of closers) await c()
    },
  }
}

/** Two users, three articles (two in tech), a tag on article 1, a comment, a profile, a note, a membership. */
export async function seed(db: TestDatabase): Promise<void> {
  const b = db.base
  await b.user.createMany({
    data: [
      { id: 1, name: 'Ada' },
      { id: 2, name: 'Bob' },
    ],
  })
  await b.article.createMany({
    data: [
      { id: 1, title: 'one', published: true, category: 'tech', authorId: 1 },
      { id: 2, title: 'two', published: true, category: 'tech', authorId: 1 },
      { id: 3, title: 'three', published: false, category: 'news', authorId: 2 },
    ],
  })
  await b.tag.create({ data: { name: 'db', articles: { connect: [{ id: 1 }] } } })
  await b.comment.create({ data: { body: 'hi', articleId: 1 } })
  await b.profile.create({ data: { bio: 'math', userId: 1 } })
  await b.note.create({ data: { text: 'n', authorId: 1 } })
  await b.group.create({ data: { id: 10, name: 'g', users: { connect: [{ id: 1 }] } } })
  await b.membership.create({ data: { userId: 1, groupId: 10, role: 'member' } })
}

/** The dependencies the write tests watch. */
export function blogDeps() {
  return {
    users: dep.table('app_users'),
    user1: dep.row('app_users', 1),
    user2: dep.row('app_users', 2),
    articles: dep.table('blog_articles'),
    a1: dep.row('blog_articles', 1),
    a2: dep.row('blog_articles', 2),
    a3: dep.row('blog_articles', 3),
    a9: dep.row('blog_articles', 9),
    pubTech: dep.scope('blog_articles', { published: true, category: 'tech' }),
    pubNews: dep.scope('blog_articles', { published: true, category: 'news' }),
    draftNews: dep.scope('blog_articles', { published: false, category: 'news' }),
    comments: dep.table('comments'),
    tags: dep.table('tags'),
    tag1: dep.row('tags', 1),
    articleTags: dep.table('_ArticleToTag'),
    profiles: dep.table('profiles'),
    notes: dep.table('notes'),
    groups: dep.table('groups'),
    groupUsers: dep.table('_GroupToUser'),
    memberships: dep.table('memberships'),
    m1x10: dep.row('memberships', { userId: 1, groupId: 10 }),
    m2x10: dep.row('memberships', { userId: 2, groupId: 10 }),
    assets: dep.table('assets'),
  }
}
