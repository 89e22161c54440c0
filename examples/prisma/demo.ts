// A small blog on Prisma 7 with @freshkey/prisma: cached reads that stay fresh without any manual
// invalidation. SQLite (libsql) + an in-process store by default; REDIS_URL switches the store to
// Redis and DATABASE_URL the database to PostgreSQL. Run `pnpm demo` (it generates the client first).
import { subscribe } from 'node:diagnostics_channel'
import { readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createFreshkey, memoryStore, type Store } from '@freshkey/core'
import { freshkeyPrisma } from '@freshkey/prisma'
import { redisStore } from '@freshkey/redis'
import { createClient } from '@libsql/client'
import { PrismaLibSql } from '@prisma/adapter-libsql'
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { metadata } from './generated/freshkey/index.js'

const provider = readFileSync(new URL('./generated/provider.txt', import.meta.url), 'utf8').trim()
const databaseUrl = process.env.DATABASE_URL
if ((provider === 'postgresql') !== Boolean(databaseUrl)) {
  throw new Error('the generated client does not match DATABASE_URL: run `node generate.ts` again')
}
const { PrismaClient } = await import('./generated/client/client.ts')

// ---------------------------------------------------------------- database (tables made with SQL)
const SCHEMA = 'freshkey_demo_prisma'
const tables = [
  'CREATE TABLE users (id SERIAL PRIMARY KEY, name TEXT NOT NULL)',
  `CREATE TABLE articles (id SERIAL PRIMARY KEY, title TEXT NOT NULL, published BOOLEAN NOT NULL DEFAULT false,
     category TEXT NOT NULL, author_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE)`,
]
let cleanup: () => Promise<void>
let adapter: PrismaLibSql | PrismaPg
if (databaseUrl) {
  const admin = new pg.Client({ connectionString: databaseUrl })
  await admin.connect()
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`)
  await admin.query(`CREATE SCHEMA ${SCHEMA}`)
  await admin.query(`SET search_path TO ${SCHEMA}`)
  for (const t of tables) await admin.query(t)
  adapter = new PrismaPg({ connectionString: databaseUrl }, { schema: SCHEMA })
  cleanup = async () => {
    await admin.query(`DROP SCHEMA ${SCHEMA} CASCADE`)
    await admin.end()
  }
} else {
  const file = join(tmpdir(), `freshkey-prisma-demo-${process.pid}.db`)
  const sqlite = createClient({ url: `file:${file}` })
  await sqlite.executeMultiple(tables.map((t) => `${t.replace(/SERIAL/g, 'INTEGER')};`).join('\n'))
  sqlite.close()
  adapter = new PrismaLibSql({ url: `file:${file}` })
  cleanup = async () => rmSync(file, { force: true })
}

// ---------------------------------------------------------------- freshkey
const store: Store = process.env.REDIS_URL ? redisStore(process.env.REDIS_URL) : memoryStore()
const fk = createFreshkey({ store, namespace: `demo-prisma-${process.pid}`, version: '1' })
// No scopes, no declared dependencies: cached reads depend on what they read.
const prisma = new PrismaClient({ adapter }).$extends(freshkeyPrisma(fk, { metadata }))
await prisma.$freshkey.verify()
console.log(
  `freshkey + Prisma demo: ${databaseUrl ? 'PostgreSQL' : 'SQLite (libsql)'}, ${process.env.REDIS_URL ? 'Redis' : 'memory'} store\n`,
)

let invalidations = 0
subscribe('freshkey:invalidate', (m) => {
  if ((m as { namespace: string }).namespace === fk.namespace) invalidations++
})
let last = fk.stats()
/**
 * Prints what the cache did since the previous line. After a write it first waits for the commit's
 * fence to be lifted (freshkey does it in the background; until then a load is served, not stored),
 * so that every line shows one effect.
 */
async function report(what: string, value: unknown): Promise<void> {
  await fk.idle()
  const now = fk.stats()
  const hits = now.hits - last.hits
  const misses = now.misses - last.misses
  last = now
  const moved = invalidations
  invalidations = 0
  const cache = hits ? 'hit ' : misses ? 'miss' : '    '
  console.log(
    `${cache}  ${what.padEnd(50)} ${JSON.stringify(value)}${moved ? `   (${moved} invalidation${moved > 1 ? 's' : ''})` : ''}`,
  )
}

// A list through fk.wrap: it depends on its members and on its filter, so only a member changing or a
// row entering "published in <category>" invalidates it.
const publishedIn = (category: string) =>
  fk.wrap(['articles:published', category], async () =>
    (await prisma.article.findMany({ where: { published: true, category }, orderBy: { id: 'asc' } })).map(
      (a) => a.title,
    ),
  )
// Prisma's own cached read: the same automatic dependencies (the articles it returned, their authors
// through the include, and the filter).
const frontPage = () =>
  prisma.article
    .cached({ ttl: 60 })
    .findMany({ where: { published: true }, include: { author: true }, orderBy: { id: 'asc' } })
    .then((list) => list.map((a) => `${a.title} by ${a.author.name}`))

// ---------------------------------------------------------------- the story
try {
  const ada = await prisma.user.create({ data: { name: 'Ada' } })
  const bob = await prisma.user.create({ data: { name: 'Bob' } })
  await prisma.article.createMany({
    data: [
      { title: 'Rust for Pythonistas', published: true, category: 'tech', authorId: ada.id },
      { title: 'Postgres tricks', published: true, category: 'tech', authorId: bob.id },
      { title: 'Draft: Redis internals', published: false, category: 'tech', authorId: ada.id },
      { title: 'Election night', published: true, category: 'news', authorId: bob.id },
    ],
  })
  await report('seed: 2 users, 4 articles', 'ok')

  await report('tech list', await publishedIn('tech'))
  await report('tech list again', await publishedIn('tech'))
  await report('front page', await frontPage())
  await report('front page again', await frontPage())

  const draft = await prisma.article.findFirstOrThrow({ where: { published: false } })
  await prisma.article.update({ where: { id: draft.id }, data: { title: 'Redis internals (v2)' } })
  await report('edit the draft title (outside every list)', 'ok')
  await report('tech list: unaffected', await publishedIn('tech'))

  await prisma.article.update({ where: { id: draft.id }, data: { published: true } })
  await report('publish the draft: it enters "tech"', 'ok')
  await report('tech list', await publishedIn('tech'))
  await report('news list', await publishedIn('news'))

  await prisma.$transaction(async (tx) => {
    await tx.article.updateMany({ where: { category: 'news' }, data: { category: 'politics' } })
    await tx.user.update({ where: { id: bob.id }, data: { name: 'Robert' } })
  })
  await report('transaction: recategorize news, rename Bob', 'committed')
  await report('news list', await publishedIn('news'))
  await report('front page', await frontPage())
  await report('tech list (updateMany changed rows nobody named)', await publishedIn('tech'))

  await prisma
    .$transaction(async (tx) => {
      await tx.article.deleteMany({})
      throw new Error('changed my mind')
    })
    .catch(() => {})
  await report('transaction that deletes everything, rolled back', 'nothing bumped')
  await report('tech list: still cached', await publishedIn('tech'))

  const first = await prisma.article.findFirstOrThrow({ orderBy: { id: 'asc' } })
  const key = await fk.keyFor(first, 'page')
  await prisma.article.update({ where: { id: first.id }, data: { title: 'Rust for Pythonistas, 2nd ed.' } })
  await report('fk.keyFor(record) changes when the row does', (await fk.keyFor(first, 'page')) !== key)

  const s = fk.stats()
  console.log(
    `\ntotal: ${s.hits} hits, ${s.misses} misses, ${s.invalidations} invalidations, ${s.loads} loads`,
  )
} finally {
  await prisma.$disconnect()
  await cleanup()
  await fk.close()
  await store.close()
}
