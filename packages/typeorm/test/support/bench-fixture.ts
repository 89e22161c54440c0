import { Scope } from '@freshkey/core'
import { DataSource, EntitySchema } from 'typeorm'
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
