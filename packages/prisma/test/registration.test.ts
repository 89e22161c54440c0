import { createFreshkey, dep, memoryStore, type Store } from '@freshkey/core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { AlreadyRegisteredError, freshkeyPrisma, MetadataError, PrismaOptionsError } from '../src/index.ts'
import { matrix, newFreshkey, watch } from './support/harness.ts'
import { blogDeps, type Fixture, openFixture } from './support/setup.ts'

describe.each(matrix())('registration on $db with $store store', (combo) => {
  let f: Fixture
  beforeAll(async () => {
    f = await openFixture(combo)
  })
  beforeEach(() => f.reset())
  afterAll(() => f?.close())

  it('extending twice with the same freshkey is a no-op: one write, one bump', async () => {
    const twice = f.prisma.$extends(freshkeyPrisma(f.fk, { metadata: f.db.metadata }))
    const published: string[][] = []
    const { subscribe, unsubscribe } = await import('node:diagnostics_channel')
    const onBump = (msg: unknown) => published.push([...(msg as { keys: string[] }).keys])
    subscribe('freshkey:invalidate', onBump)
    try {
      const before = f.fk.stats().invalidations
      await twice.article.update({ where: { id: 2 }, data: { title: 'x' } })
      await twice.$transaction(async (tx) => {
        await tx.article.update({ where: { id: 2 }, data: { title: 'y' } })
      })
      expect(f.fk.stats().invalidations - before).toBe(2)
      expect(published).toHaveLength(2)
    } finally {
      unsubscribe('freshkey:invalidate', onBump)
    }
  })

  it('extending with another freshkey instance throws AlreadyRegisteredError', () => {
    const other = newFreshkey('memory')
    const error = (() => {
      try {
        f.prisma.$extends(freshkeyPrisma(other.fk))
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(AlreadyRegisteredError)
    expect(error).toMatchObject({ code: 'E_PRISMA_ALREADY_REGISTERED' })
  })

  it('an extension applied after freshkey still runs inside transactions, and writes are still seen', async () => {
    const seen: string[] = []
    const outer = f.prisma.$extends({
      query: {
        $allModels: {
          async $allOperations({ model, operation, args, query }) {
            seen.push(`${model}.${operation}`)
            return query(args)
          },
        },
      },
    })
    const w = await watch(f.fk, blogDeps())
    await outer.$transaction(async (tx) => {
      await tx.article.update({ where: { id: 3 }, data: { title: 'x' } })
      expect(await w.changed()).toEqual([])
    })
    expect(seen).toContain('Article.update')
    expect(await w.changed()).toEqual(['a3', 'articles'])
  })

  it('without generator metadata: warns once and invalidates whole tables and their relations', async () => {
    const warnings: string[] = []
    const { fk, close } = newFreshkey(combo.store, combo.redisUrl)
    try {
      const prisma = f.db.base.$extends(
        freshkeyPrisma(fk, {
          onWarning: (m) => warnings.push(m),
          scopes: { Article: ['published', 'category'] },
        }),
      )
      expect(prisma.$freshkey.precise).toBe(false)
      const w = await watch(fk, blogDeps())
      await prisma.article.update({ where: { id: 3 }, data: { title: 'x' } })
      await prisma.article.update({ where: { id: 3 }, data: { title: 'y' } })
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatch(/freshkey-prisma generator/)
      // Article relates to users, comments and tags (transitively to everything but assets and memberships).
      const moved = await w.changed()
      expect(moved).toEqual(
        expect.arrayContaining([
          'a1',
          'a3',
          'articles',
          'comments',
          'tags',
          'users',
          'profiles',
          'articleTags',
        ]),
      )
      expect(moved).not.toContain('memberships')
      expect(moved).not.toContain('assets')
      const rec = await prisma.article.findUnique({ where: { id: 1 } })
      expect(await fk.keyFor(rec!)).toBe(await fk.keyFor(dep.row('blog_articles', 1)))
    } finally {
      await close()
    }
  })

  it('metadata of another schema is refused with MetadataError', () => {
    const { fk } = newFreshkey('memory')
    const stale = {
      ...f.db.metadata,
      models: {
        ...f.db.metadata.models,
        Article: { ...f.db.metadata.models.Article!, table: 'articles_old' },
      },
    }
    expect(() => f.db.base.$extends(freshkeyPrisma(fk, { metadata: stale }))).toThrow(MetadataError)
    expect(() => f.db.base.$extends(freshkeyPrisma(fk, { metadata: { format: 2 } as never }))).toThrow(
      MetadataError,
    )
  })

  it('bad options are FreshkeyErrors with a code', () => {
    const { fk } = newFreshkey('memory')
    expect(() =>
      f.db.base.$extends(freshkeyPrisma(fk, { metadata: f.db.metadata, scopes: { Nope: ['a'] } })),
    ).toThrow(PrismaOptionsError)
    expect(() => f.db.base.$extends(freshkeyPrisma(fk, { rawTables: 5 as never }))).toThrow(
      expect.objectContaining({ code: 'E_PRISMA_OPTIONS' }),
    )
  })

  it('$freshkey tells the table of a model', () => {
    expect(f.prisma.$freshkey.tableOf('Article')).toBe('blog_articles')
    expect(f.prisma.$freshkey.tableOf('membership')).toBe('memberships')
    expect(f.prisma.$freshkey.precise).toBe(true)
  })

  it('a store that fails every call never fails a write, a transaction or a cached read', async () => {
    const broken = new Proxy(memoryStore(), {
      get: (target, prop) =>
        prop === 'close'
          ? () => Promise.resolve()
          : typeof (target as any)[prop] === 'function'
            ? () => Promise.reject(new Error('store down'))
            : (target as any)[prop],
    }) as Store
    const fk = createFreshkey({ store: broken, namespace: 'broken', bumpAttempts: 1 })
    const warnings: string[] = []
    const prisma = f.db.base.$extends(
      freshkeyPrisma(fk, {
        metadata: f.db.metadata,
        scopes: { Article: ['published', 'category'] },
        rawTables: () => {
          throw new Error('bad rawTables')
        },
        onWarning: (m) => warnings.push(m),
      }),
    )
    await prisma.article.update({ where: { id: 1 }, data: { category: 'news' } })
    await prisma.$transaction(async (tx) => {
      await tx.article.update({ where: { id: 2 }, data: { category: 'news' } })
    })
    await prisma.$executeRawUnsafe("UPDATE groups SET name = 'x'")
    expect(await prisma.article.cached().count({ where: { category: 'news' } })).toBe(3)
    expect(await f.db.base.article.count({ where: { category: 'news' } })).toBe(3)
    expect(warnings.some((w) => w.includes('bad rawTables'))).toBe(true)
    await fk.close()
  })
})
