import { describe, expect, it } from 'vitest'
import { ModelIndex } from '../src/model-index.ts'
import { tablesRead } from '../src/tables-read.ts'
import './support/clients.ts'

describe('tables a read depends on', async () => {
  const { metadata } = await import('./generated/sqlite/freshkey/index.js')
  const index = ModelIndex.fromMetadata(metadata)
  const article = index.model('Article')!
  it('the model, included relations and their join tables', () => {
    expect(tablesRead(index, article, undefined)).toEqual(['blog_articles'])
    expect(
      tablesRead(index, article, { include: { author: { include: { profile: true } }, tags: true } }).sort(),
    ).toEqual(['_ArticleToTag', 'app_users', 'blog_articles', 'profiles', 'tags'].sort())
  })
  it('relation filters, _count and orderBy', () => {
    expect(
      tablesRead(index, article, {
        where: { OR: [{ comments: { some: { body: 'x' } } }, { author: { is: { name: 'a' } } }] },
        select: { _count: { select: { tags: true } } },
      }).sort(),
    ).toEqual(['_ArticleToTag', 'app_users', 'blog_articles', 'comments', 'tags'].sort())
  })
})
