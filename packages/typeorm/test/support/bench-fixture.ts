import { Scope } from '@freshkey/core'
import { DataSource, type DataSourceOptions, EntitySchema } from 'typeorm'
import { freshPostgres } from './postgres.ts'

// The blog article table for bench/typeorm-commit, without decorators so plain `node` runs it.

export class BenchArticle {
  id!: number
  title!: string
  published!: boolean
  category!: string
}
Scope(['published', 'category'])(BenchArticle)

const ArticleSchema = new EntitySchema<BenchArticle>({
  name: 'BenchArticle',
  target: BenchArticle,
  tableName: 'blog_articles',
  columns: {
    id: { type: 'integer', primary: true },
    title: { type: 'text' },
    published: { type: 'boolean' },
    category: { type: 'text' },
  },
})

/** Two data sources (pool `poolSize` each) on one fresh PostgreSQL database with two articles. */
export async function openBenchDatabase(
  poolSize: number,
): Promise<{ plain: DataSource; watched: DataSource; close: () => Promise<void> }> {
  const { url, drop } = await freshPostgres()
  const make = () =>
    new DataSource({ type: 'postgres', url, entities: [ArticleSchema], extra: { max: poolSize } })
  const plain = make()
  await plain.initialize()
  await plain.synchronize()
  await plain
    .getRepository(BenchArticle)
    .insert([1, 2].map((id) => ({ id, title: 't', published: true, category: 'tech' })))
  const watched = make()
  await watched.initialize()
  return {
    plain,
    watched,
    close: async () => {
      await plain.destroy()
      await watched.destroy()
      await drop()
    },
  }
}

/** A blog post of the native-cache bench (bench/typeorm-commit/cache.ts). */
export class Post {
  id!: number
  title!: string
  category!: string
}

const PostSchema = new EntitySchema<Post>({
  name: 'Post',
  target: Post,
  tableName: 'cache_posts',
  columns: {
    id: { type: 'integer', primary: true },
    title: { type: 'text' },
    category: { type: 'text' },
  },
  indices: [{ columns: ['category'] }],
})

/** A fresh PostgreSQL database with `count` posts titled `v0`, spread over `categories` (`c0`, `c1`, ...). */
export async function openPostsDatabase(
  count: number,
  categories: number,
): Promise<{
  open: (options: Partial<DataSourceOptions>) => Promise<DataSource>
  drop: () => Promise<void>
}> {
  const { url, drop } = await freshPostgres()
  const seed = new DataSource({ type: 'postgres', url, entities: [PostSchema], synchronize: true })
  await seed.initialize()
  const rows = Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    title: 'v0',
    category: `c${i % categories}`,
  }))
  for (let i = 0; i < rows.length; i += 1000) await seed.getRepository(Post).insert(rows.slice(i, i + 1000))
  await seed.destroy()
  return {
    async open(options) {
      const ds = new DataSource({
        type: 'postgres',
        url,
        entities: [PostSchema],
        ...options,
      } as DataSourceOptions)
      return ds.initialize()
    },
    drop,
  }
}
