import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { createFreshkey, dep, memoryStore, type Store } from '@freshkey/core'
import { AdapterDisposedError, AdapterInactiveError, AdapterSetupError } from '@freshkey/core/adapter'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { freshkeyPrisma, MetadataError, PrismaOptionsError } from '../src/index.ts'
import { matrix, newFreshkey, watch } from './support/harness.ts'
import { blogDeps, type Fixture, openFixture } from './support/setup.ts'

describe.each(matrix())('registration on $db with $store store', (combo) => {
  let f: Fixture
  beforeAll(async () => {
    f = await openFixture(combo)
  })
  beforeEach(() => f.reset())
  afterAll(() => f?.close())

  /** Keys of every bump published for `namespace` while `fn` runs. */
  async function bumpsOf(namespace: string, fn: () => Promise<unknown>): Promise<string[][]> {
    const out: string[][] = []
    const on = (m: unknown) => {
      const msg = m as { namespace: string; keys: string[] }
      if (msg.namespace === namespace) out.push([...msg.keys])
    }
    subscribe('freshkey:invalidate', on)
    try {
      await fn()
      await f.fk.idle()
    } finally {
      unsubscribe('freshkey:invalidate', on)
    }
    return out
  }

  it('extending twice with the same freshkey is a no-op: one write, one bump', async () => {
    const twice = f.prisma.$extends(freshkeyPrisma(f.fk, { metadata: f.db.metadata }))
    expect(twice.$freshkey.all).toHaveLength(1)
    const bumps = await bumpsOf(f.fk.namespace, async () => {
      await twice.article.update({ where: { id: 2 }, data: { title: 'x' } })
      await twice.$transaction(async (tx) => {
        await tx.article.update({ where: { id: 2 }, data: { title: 'y' } })
      })
    })
    expect(bumps).toHaveLength(2)
  })

  it('regression: a second freshkey instance on the same client threw; now each gets its own binding', async () => {
    const other = newFreshkey(combo.store, combo.redisUrl)
    try {
      const both = f.prisma.$extends(freshkeyPrisma(other.fk, { metadata: f.db.metadata }))
      expect(both.$freshkey.all.map((i) => i.fk)).toEqual([f.fk, other.fk])
      const mine = await watch(f.fk, { a2: dep.row('blog_articles', 2) })
      const theirs = await watch(other.fk, { a2: dep.row('blog_articles', 2) })
      await both.article.update({ where: { id: 2 }, data: { title: 'x' } })
      await both.$transaction((tx) => tx.article.update({ where: { id: 2 }, data: { title: 'y' } }))
      expect(await mine.changed()).toEqual(['a2'])
      expect(await theirs.changed()).toEqual(['a2'])
      await both.$freshkey.verify()
      const cached = () => both.article.cached().findUnique({ where: { id: 2 } })
      await cached()
      await other.fk.idle()
      await cached()
      expect(other.fk.stats().hits).toBe(1)
      expect(f.fk.stats().hits).toBe(0)
    } finally {
      await other.close()
    }
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
    await outer.$freshkey.verify(outer)
  })

  it('verify() proves the hooks fire, and says when they do not', async () => {
    await f.prisma.$freshkey.verify()
    await expect(f.prisma.$freshkey.verify(f.db.base)).rejects.toBeInstanceOf(AdapterInactiveError)
    const replaced = replacingTransaction()
    await expect(replaced.$freshkey.verify(replaced)).rejects.toThrow(/did not see start/)
  })

  /** An extension applied after freshkey whose $transaction skips freshkey's (it calls Prisma's own). */
  function replacingTransaction() {
    const proto = Object.getPrototypeOf((f.db.base as unknown as { _originalClient: object })._originalClient)
    return f.prisma.$extends({
      client: {
        $transaction(this: unknown, fn: unknown, options?: unknown) {
          return proto.$transaction.call(this, fn, options)
        },
      },
    }) as unknown as typeof f.prisma
  }

  it('a transaction whose start freshkey did not see is bumped at its commit, dropped at its rollback', async () => {
    const replaced = replacingTransaction()
    const w = await watch(f.fk, blogDeps())
    await replaced.$transaction(async (tx) => {
      await tx.article.update({ where: { id: 1 }, data: { title: 'x' } })
      expect(await w.changed()).toEqual([])
    })
    expect(await w.changed()).toEqual(['a1', 'articles'])
    await replaced
      .$transaction(async (tx) => {
        await tx.article.update({ where: { id: 2 }, data: { title: 'x' } })
        throw new Error('roll back')
      })
      .catch(() => {})
    expect(await w.changed()).toEqual([])
  })

  it('a read inside such a transaction is served, never stored', async () => {
    const replaced = replacingTransaction()
    const before = f.fk.stats()
    await replaced.$transaction(async (tx) => {
      await tx.article.update({ where: { id: 1 }, data: { title: 'inside' } })
      expect((await f.fk.wrap('missed:a1', () => tx.article.findUnique({ where: { id: 1 } })))?.title).toBe(
        'inside',
      )
    })
    expect(f.fk.stats().fills).toBe(before.fills)
    await f.fk.idle()
    await f.fk.wrap('missed:a1', () => f.prisma.article.findUnique({ where: { id: 1 } }))
    expect(f.fk.stats().hits).toBe(before.hits)
    expect(f.fk.stats().fills).toBe(before.fills + 1)
  })

  it('dispose() stops recording and tracking; cached() then throws AdapterDisposedError', async () => {
    const { fk, close } = newFreshkey(combo.store, combo.redisUrl)
    try {
      const prisma = f.db.base.$extends(freshkeyPrisma(fk, { metadata: f.db.metadata }))
      const w = await watch(fk, { a1: dep.row('blog_articles', 1) })
      prisma.$freshkey.dispose()
      prisma.$freshkey.dispose()
      await prisma.article.update({ where: { id: 1 }, data: { title: 'x' } })
      await prisma.$transaction((tx) => tx.article.update({ where: { id: 1 }, data: { title: 'y' } }))
      expect(await w.changed()).toEqual([])
      expect(() => prisma.article.cached()).toThrow(AdapterDisposedError)
      await expect(prisma.$freshkey.verify()).rejects.toBeInstanceOf(AdapterDisposedError)
      // A new extension after dispose() is a new binding.
      const again = f.db.base.$extends(freshkeyPrisma(fk, { metadata: f.db.metadata }))
      await again.article.update({ where: { id: 1 }, data: { title: 'z' } })
      expect(await w.changed()).toEqual(['a1'])
    } finally {
      await close()
    }
  })

  it('without generator metadata it refuses to start, saying how to fix it', () => {
    const { fk } = newFreshkey('memory')
    expect(() => f.db.base.$extends(freshkeyPrisma(fk))).toThrow(AdapterSetupError)
    expect(() => f.db.base.$extends(freshkeyPrisma(fk))).toThrow(/generator freshkey/)
  })

  it('metadata of another schema or format is refused with MetadataError', () => {
    const { fk } = newFreshkey('memory')
    const stale = {
      ...f.db.metadata,
      models: {
        ...f.db.metadata.models,
        Article: { ...f.db.metadata.models.Article!, table: 'articles_old' },
      },
    }
    expect(() => f.db.base.$extends(freshkeyPrisma(fk, { metadata: stale }))).toThrow(MetadataError)
    expect(() => f.db.base.$extends(freshkeyPrisma(fk, { metadata: { format: 1 } as never }))).toThrow(
      MetadataError,
    )
  })

  it('bad options are FreshkeyErrors with a code', () => {
    const { fk } = newFreshkey('memory')
    expect(() =>
      f.db.base.$extends(freshkeyPrisma(fk, { metadata: f.db.metadata, scopes: { Nope: ['a'] } })),
    ).toThrow(PrismaOptionsError)
    expect(() =>
      f.db.base.$extends(freshkeyPrisma(fk, { metadata: f.db.metadata, rawSql: 5 as never })),
    ).toThrow(expect.objectContaining({ code: 'E_PRISMA_OPTIONS' }))
  })

  it('$freshkey tells the table of a model', () => {
    expect(f.prisma.$freshkey.tableOf('Article')).toBe('blog_articles')
    expect(f.prisma.$freshkey.tableOf('membership')).toBe('memberships')
    expect(f.prisma.$freshkey.fk).toBe(f.fk)
  })

  it('a store that fails every call never fails a write, a transaction or a cached read; errors are counted', async () => {
    const broken = new Proxy(memoryStore(), {
      get: (target, prop) =>
        prop === 'close' || prop === 'generation'
          ? () => (prop === 'close' ? Promise.resolve() : undefined)
          : typeof (target as any)[prop] === 'function'
            ? () => Promise.reject(new Error('store down'))
            : (target as any)[prop],
    }) as Store
    const fk = createFreshkey({ store: broken, namespace: 'broken', bumpAttempts: 1, logger: false })
    const prisma = f.db.base.$extends(
      freshkeyPrisma(fk, {
        metadata: f.db.metadata,
        scopes: { Article: ['published', 'category'] },
        rawSql: () => {
          throw new Error('bad rawSql')
        },
      }),
    )
    await prisma.article.update({ where: { id: 1 }, data: { category: 'news' } })
    await prisma.article
      .update({ where: { title: 'two' } as never, data: { category: 'news' } })
      .catch(() => {})
    await prisma.$transaction(async (tx) => {
      await tx.article.update({ where: { id: 2 }, data: { category: 'news' } })
    })
    await prisma.$executeRawUnsafe("UPDATE groups SET name = 'x'")
    expect(await prisma.article.cached().count({ where: { category: 'news' } })).toBe(3)
    expect(await f.db.base.article.count({ where: { category: 'news' } })).toBe(3)
    expect(fk.stats().adapterErrors).toBeGreaterThan(0)
    await fk.close()
  })
})
