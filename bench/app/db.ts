// The blog's schema and seed, made with SQL (no ORM synchronizes or pushes anything), in one
// template database; every contender gets its own copy (`CREATE DATABASE … TEMPLATE`), so they
// all start from the same rows and never see each other's writes.
import { createRequire } from 'node:module'
import { mulberry32 } from './workload.ts'

/** The part of node-postgres used here (the bench has no @types/pg). */
export interface PgClient {
  connect(): Promise<void>
  query<R = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<{ rows: R[] }>
  end(): Promise<void>
}
const pg = createRequire(import.meta.url)('pg') as {
  Client: new (options: { connectionString: string }) => PgClient
}

export async function pgConnect(url: string): Promise<PgClient> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  return c
}

export interface Sizes {
  readonly users: number
  readonly articles: number
  readonly categories: number
}

export const DEFAULT_SIZES: Sizes = { users: 1_000, articles: 20_000, categories: 20 }

/** The seeded rows, as the checker needs them (index = id; index 0 unused). */
export interface Seed {
  readonly sizes: Sizes
  readonly category: Int32Array
  readonly published: Uint8Array
  readonly author: Int32Array
}

/** Publication time of article `id`: strictly increasing with the id, so "newest" is "highest id". */
export const createdAt = (id: number): Date => new Date(Date.UTC(2024, 0, 1) + id * 60_000)

/** Every write sets a new `rev`, and the title carries it, so a read shows which write it saw. */
export const articleTitle = (id: number, rev: number): string => `Article ${id} (rev ${rev})`
export const userBio = (id: number, rev: number): string =>
  `Bio of user ${id}, rev ${rev}. ${FILLER.slice(0, 120)}`
export const articleBody = (id: number): string => `Body of article ${id}. ${FILLER}`

const FILLER =
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore ' +
  'magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo ' +
  'consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. ' +
  'Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum. ' +
  'Sed ut perspiciatis unde omnis iste natus error sit voluptatem accusantium doloremque laudantium, totam rem ' +
  'aperiam, eaque ipsa quae ab illo inventore veritatis et quasi architecto beatae vitae dicta sunt explicabo.'

export const SCHEMA = [
  'CREATE TABLE categories (id integer PRIMARY KEY, name text NOT NULL)',
  'CREATE TABLE users (id integer PRIMARY KEY, name text NOT NULL, bio text NOT NULL, rev integer NOT NULL)',
  `CREATE TABLE articles (
     id integer PRIMARY KEY,
     title text NOT NULL,
     body text NOT NULL,
     rev integer NOT NULL,
     published boolean NOT NULL,
     category_id integer NOT NULL REFERENCES categories (id),
     author_id integer NOT NULL REFERENCES users (id),
     created_at timestamptz NOT NULL
   )`,
  'CREATE INDEX articles_newest ON articles (category_id, published, created_at DESC)',
  'CREATE INDEX articles_author ON articles (author_id)',
]

/** The seed rows, from a fixed seed: categories uniform, 90 % published, authors uniform. */
export function generateSeed(seed: number, sizes: Sizes = DEFAULT_SIZES): Seed {
  const rnd = mulberry32(seed ^ 0x5eed)
  const n = sizes.articles
  const category = new Int32Array(n + 1)
  const published = new Uint8Array(n + 1)
  const author = new Int32Array(n + 1)
  for (let id = 1; id <= n; id++) {
    category[id] = 1 + Math.floor(rnd() * sizes.categories)
    published[id] = rnd() < 0.9 ? 1 : 0
    author[id] = 1 + Math.floor(rnd() * sizes.users)
  }
  return { sizes, category, published, author }
}

export function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.href
}

const ident = (name: string) => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`)
  return name
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = await pgConnect(adminUrl)
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`)
  } finally {
    await admin.end()
  }
}

/** Creates (or recreates) the seeded template database. */
export async function createTemplate(adminUrl: string, name: string, seed: Seed): Promise<void> {
  const admin = await pgConnect(adminUrl)
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`)
    await admin.query(`CREATE DATABASE ${ident(name)}`)
  } finally {
    await admin.end()
  }
  const db = await pgConnect(databaseUrl(adminUrl, name))
  try {
    for (const statement of SCHEMA) await db.query(statement)
    const { sizes } = seed
    await db.query(`INSERT INTO categories SELECT g, 'Category ' || g FROM generate_series(1, $1::int) g`, [
      sizes.categories,
    ])
    const userIds = Array.from({ length: sizes.users }, (_, i) => i + 1)
    await db.query(
      'INSERT INTO users (id, name, bio, rev) SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::int[])',
      [userIds, userIds.map((id) => `User ${id}`), userIds.map((id) => userBio(id, 0)), userIds.map(() => 0)],
    )
    for (let from = 1; from <= sizes.articles; from += 2_000) {
      const ids = Array.from({ length: Math.min(2_000, sizes.articles - from + 1) }, (_, i) => from + i)
      await db.query(
        `INSERT INTO articles (id, title, body, rev, published, category_id, author_id, created_at)
         SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::int[], $5::bool[], $6::int[], $7::int[], $8::timestamptz[])`,
        [
          ids,
          ids.map((id) => articleTitle(id, 0)),
          ids.map(articleBody),
          ids.map(() => 0),
          ids.map((id) => seed.published[id] === 1),
          ids.map((id) => seed.category[id]),
          ids.map((id) => seed.author[id]),
          ids.map((id) => createdAt(id).toISOString()),
        ],
      )
    }
    await db.query('VACUUM ANALYZE')
  } finally {
    await db.end()
  }
}

/** A fresh copy of the template for one contender. */
export async function cloneDatabase(adminUrl: string, template: string, name: string): Promise<string> {
  const admin = await pgConnect(adminUrl)
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`)
    await admin.query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(template)}`)
  } finally {
    await admin.end()
  }
  return databaseUrl(adminUrl, name)
}

/** The server's connection limit, to size the contenders' pools. */
export async function maxConnections(adminUrl: string): Promise<number> {
  const admin = await pgConnect(adminUrl)
  try {
    const { rows } = await admin.query<{ max_connections: string }>('SHOW max_connections')
    return Number(rows[0]?.max_connections ?? 100)
  } finally {
    await admin.end()
  }
}
