import { Decimal } from '@prisma/client/runtime/client'
import { describe, expect, it } from 'vitest'
import { translate } from '../src/filters.ts'
import { prepareRead, readRecords, tablesRead } from '../src/reads.ts'
import { ModelIndex } from '../src/schema.ts'
import './support/clients.ts'
import { generated } from './support/generate-clients.ts'

const { metadata } = await import(generated('sqlite/freshkey/index.js'))
const index = new ModelIndex(metadata, undefined)
const article = index.model('Article')!
const user = index.model('User')!
const membership = index.model('Membership')!

describe('where → conjunctions of equalities', () => {
  it('keeps equalities, equals, in, null, AND and small ORs', () => {
    expect(translate(article, { category: 'tech', published: { equals: true } }).where).toEqual([
      { category: 'tech', published: true },
    ])
    expect(translate(article, { authorId: { in: [1, 2] }, AND: [{ category: null }] }).where).toEqual([
      { authorId: [1, 2], category: null },
    ])
    expect(translate(article, { OR: [{ category: 'a' }, { category: 'b', published: true }] }).where).toEqual(
      [{ category: 'a' }, { category: 'b', published: true }],
    )
    expect(translate(article, { OR: [] }).where).toEqual([])
    expect(translate(article, undefined).where).toEqual([{}])
  })

  it('drops conditions that are no equality, keeping their fields watched', () => {
    const f = translate(article, {
      category: 'tech',
      views: { gt: 5 },
      title: { contains: 'x' },
      NOT: { published: false },
    })
    expect(f.where).toEqual([{ category: 'tech' }])
    expect([...f.fields].sort()).toEqual(['category', 'published', 'title', 'views'])
  })

  it('names rows by key where a conjunction pins it, composite keys included', () => {
    expect(translate(article, { id: { in: [1, 2] }, category: 'x' })).toMatchObject({
      where: [],
      rows: [1, 2],
    })
    expect(translate(membership, { userId_groupId: { userId: 1, groupId: 7 } })).toMatchObject({
      where: [],
      rows: [{ userId: 1, groupId: 7 }],
    })
    expect(translate(article, { OR: [{ id: 1 }, { category: 'x' }] })).toMatchObject({
      where: [{ category: 'x' }],
      rows: [1],
    })
  })

  it('relation filters and unknown keys are not understood', () => {
    expect(translate(article, { author: { is: { name: 'a' } } })).toMatchObject({ where: undefined })
    expect([...translate(article, { author: { is: { name: 'a' } } }).relations]).toEqual(['author'])
    expect(translate(article, { nonsense: 1 }).where).toBeUndefined()
  })

  it('JSON, list and string DateTime values and field references are no equalities', () => {
    const asset = index.model('Asset')!
    expect(translate(asset, { meta: { equals: { a: 1 } } }).where).toEqual([{}])
    expect(translate(asset, { createdAt: '2024-01-01T00:00:00Z' }).where).toEqual([{}])
    expect(translate(asset, { createdAt: new Date(0) }).where).toEqual([{ createdAt: new Date(0) }])
    expect(translate(asset, { price: new Decimal('1.5') }).where).toEqual([{ price: new Decimal('1.5') }])
    class FieldRef {}
    expect(translate(article, { views: { equals: new FieldRef() } }).where).toEqual([{}])
  })

  it('ORs that multiply past the limit are not understood', () => {
    const or = (field: string) => ({ OR: Array.from({ length: 8 }, (_, i) => ({ [field]: `v${i}` })) })
    expect(translate(article, { AND: [or('title'), or('category')] }).where).toBeUndefined()
  })
})

describe('what a read returned', () => {
  it('tables: the model, relations of include/select/_count, relation filters and join tables', () => {
    expect(
      tablesRead(index, article, { include: { author: { include: { profile: true } }, tags: true } }).sort(),
    ).toEqual(['_ArticleToTag', 'app_users', 'blog_articles', 'profiles', 'tags'].sort())
    expect(
      tablesRead(index, article, {
        where: { OR: [{ comments: { some: { body: 'x' } } }, { author: { is: { name: 'a' } } }] },
        select: { _count: { select: { tags: true } } },
      }).sort(),
    ).toEqual(['_ArticleToTag', 'app_users', 'blog_articles', 'comments', 'tags'].sort())
    expect(tablesRead(index, user, { include: { _count: true } }).sort()).toEqual(
      ['_GroupToUser', 'app_users', 'blog_articles', 'groups', 'notes'].sort(),
    )
  })

  it('asks for keys a narrow select leaves out, and takes them out again', () => {
    const args = { select: { title: true, comments: { select: { body: true } }, author: true } }
    const { sent, strip } = prepareRead(index, article, 'findMany', args)
    expect(sent).toEqual({
      select: {
        title: true,
        id: true,
        authorId: true,
        comments: { select: { body: true, id: true } },
        author: true,
      },
    })
    const result = [
      { title: 't', id: 1, authorId: 2, comments: [{ body: 'b', id: 5 }], author: { id: 2, name: 'x' } },
    ]
    strip(result)
    expect(result).toEqual([{ title: 't', comments: [{ body: 'b' }], author: { id: 2, name: 'x' } }])
    expect(prepareRead(index, article, 'findMany', { where: { id: 1 } }).sent).toEqual({ where: { id: 1 } })
  })

  it('rows, filters and the loaded relations of a find', () => {
    const args = {
      where: { category: 'tech' },
      orderBy: { views: 'desc' },
      include: { author: true, comments: true },
    }
    const result = [
      { id: 1, authorId: 7, author: { id: 7 }, comments: [{ id: 3 }] },
      { id: 2, authorId: 8, author: { id: 8 }, comments: [] },
    ]
    expect(readRecords(index, article, 'findMany', args, result)).toEqual([
      { table: 'blog_articles', rows: [1, 2], where: [{ category: 'tech' }], watch: ['category', 'views'] },
      { table: 'app_users', rows: [7, 8, 7, 8] },
      { table: 'comments', rows: [3], where: [{ articleId: [1, 2] }], watch: ['articleId'] },
    ])
  })

  it('counts and aggregates do not enumerate their rows', () => {
    expect(readRecords(index, article, 'count', { where: { published: true } }, 2)).toEqual([
      {
        table: 'blog_articles',
        rows: [],
        where: [{ published: true }],
        watch: ['published'],
        enumerates: false,
      },
    ])
    expect(readRecords(index, article, 'aggregate', { _sum: { views: true } }, {})).toEqual([
      { table: 'blog_articles', rows: [], where: [{}], watch: '*', enumerates: false },
    ])
  })
})
