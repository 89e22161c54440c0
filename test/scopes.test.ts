import {
  type Change,
  ConfigError,
  createFreshkey,
  type Dependency,
  dep,
  type Freshkey,
  FreshkeyError,
  InvalidDependencyError,
  InvalidKeyPartError,
  memoryStore,
  Scope,
  type Store,
  scopesOf,
  UnknownScopeError,
} from '@freshkey/core'
import { addResolver, type BumpRequest, scopeValue } from '@freshkey/core/adapter'
import { redisStore } from '@freshkey/redis'
import ts from 'typescript'
import { afterAll, describe, expect, it } from 'vitest'
import { whereKey } from '../packages/core/src/scope-value.ts'
import { serviceUrl } from './support/services.ts'

let seq = 0
const redisUrl = serviceUrl('REDIS_URL')
const backends: [string, () => Store][] = [['memoryStore', () => memoryStore()]]
if (redisUrl) backends.push(['redisStore', () => redisStore(redisUrl)])

/**
 * Remembers the key of each named dependency; the returned function lists the names whose key
 * changed since (the lists that would miss), sorted.
 */
async function watch(fk: Freshkey, deps: Record<string, Dependency>): Promise<() => Promise<string[]>> {
  const names = Object.keys(deps)
  const before = await Promise.all(names.map((n) => fk.keyFor(deps[n])))
  return async () => {
    const now = await Promise.all(names.map((n) => fk.keyFor(deps[n])))
    return names.filter((_, i) => now[i] !== before[i]).sort()
  }
}

const article = (id: number, fields: Record<string, unknown> = {}) => ({
  id,
  published: true,
  category: 'x',
  authorId: 1,
  title: `title ${id}`,
  ...fields,
})

/** Compiles a decorated class with TypeScript, in the standard (TS 5) or legacy decorator form. */
function compileDecorated(legacy: boolean, decorators: Record<string, unknown>): Function {
  const source = `
    @Entity('articles')
    @Scope(['published', 'category'], ['authorId'])
    class Article {}
    result.Article = Article`
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      experimentalDecorators: legacy,
    },
  })
  const result: { Article?: Function } = {}
  const names = Object.keys(decorators)
  new Function(...names, 'result', outputText)(...names.map((n) => decorators[n]), result)
  return result.Article!
}

/** Stands in for Prisma's Decimal / decimal.js: a class instance whose `toString` is its decimal text. */
class Decimal {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text
  }
}

describe('scope values', () => {
  const same: [string, unknown[]][] = [
    ['null', [null, undefined]],
    ['one', [1, '1', 1n, true, 1.0, '1.0', '01', ' 1 ', '+1', '1e0', '0.1e1']],
    ['zero', [0, -0, '0', '-0', '0.000', '+0', 0n, false]],
    ['a decimal', [10.5, '10.50', '10.5', '1.05e1', '0010.500', new Decimal('10.500')]],
    ['a negative decimal', [-0.000015, '-1.5e-5', '-0.0000150']],
    ['a large integer', [1e21, 10n ** 21n, '1000000000000000000000', '1e21']],
    ['a bigint past 2^53', [9007199254740993n, '9007199254740993']],
    [
      'an instant',
      [new Date(1704067200000), 1704067200000, '2024-01-01T00:00:00Z', '2024-01-01 01:00:00.000+01:00'],
    ],
    ['infinity', [Infinity, 'Infinity', 'inf', '+INFINITY']],
    ['minus infinity', [-Infinity, '-Infinity']],
    ['not a number', [NaN, 'NaN', new Date(NaN)]],
    ['bytes', [Buffer.from('ab'), new Uint8Array([97, 98])]],
    [
      'a plain object',
      [
        { a: 1, b: [2] },
        { b: [2], a: 1 },
      ],
    ],
    ['text under a lenient collation', ['Café ', 'cafe', 'CAFÉ', 'ca\u0301fe']],
    ['text with ß', ['Straße', 'STRASSE']],
  ]
  it.each(same)('%s has one normalized form', (_name, values) => {
    const forms = new Set(values.map(scopeValue))
    expect([...forms]).toHaveLength(1)
  })

  it('keeps different values apart', () => {
    const values = [null, 0, 1, -1, 2, '', 'null', 'x', ' x', 'y', 10.5, 10.51, 'true', { a: 1 }, [1]]
    expect(new Set(values.map(scopeValue)).size).toBe(values.length)
  })

  it('keeps strings without a zone as text, whatever the process time zone', () => {
    expect(scopeValue('2024-01-01')).toBe('s2024-01-01')
    expect(scopeValue('2024-01-01T10:00:00')).toBe('s2024-01-01t10:00:00')
  })

  it('never throws, even for values with no stable form', () => {
    const circular: Record<string, unknown> = {}
    circular.self = circular
    const odd = [
      new (class Opaque {})(),
      { toString: () => 'x', nested: new (class Inner {})() },
      circular,
      Symbol('s'),
      () => 1,
      Object.assign(Object.create({ toString: 'not a function' }), { a: 1 }),
      new (class Bad {
        toString(): string {
          throw new Error('no')
        }
      })(),
    ]
    for (const v of odd) expect(typeof scopeValue(v)).toBe('string')
  })

  it('whereKey keeps every raw where apart (values that only normalize alike must not share a cached value)', () => {
    const values = [
      '1',
      '1.0',
      1,
      1n,
      true,
      null,
      undefined,
      ['1'],
      ['1', '1.0'],
      new Decimal('1'),
      new Decimal('1.0'),
      new Date(1),
      Buffer.from('1'),
      { a: '1' },
    ]
    expect(new Set(values.map((code) => whereKey({ code }))).size).toBe(values.length)
    expect(whereKey({ a: 1, b: 'x' })).toBe(whereKey({ b: 'x', a: 1 }))
    expect(() => whereKey({ code: new (class Opaque {})() })).toThrow(InvalidKeyPartError)
    expect(() => whereKey({ code: Symbol('s') })).toThrow(InvalidKeyPartError)
  })

  it('regression: numbers beyond 1e400 meet their bigint (they used to stay text)', () => {
    expect(scopeValue('1e401')).toBe(scopeValue(10n ** 401n))
    expect(scopeValue('-2.5e-450')).toBe(scopeValue('-0.25e-449'))
  })
})

describe.each(backends)('scopes on %s', (_name, makeStore) => {
  const stores: Store[] = []
  const make = (store: Store = makeStore()): Freshkey => {
    stores.push(store)
    const fk = createFreshkey({ store, namespace: `scopes-${process.pid}-${seq++}` })
    fk.defineScope('articles', [['published', 'category'], ['authorId']])
    return fk
  }
  afterAll(async () => {
    for (const s of stores) await s.close()
  })
  const byCategory = (category: unknown, published: unknown = true) =>
    dep.scope('articles', { published, category })

  it('insert bumps the conditions of the after image', async () => {
    const fk = make()
    const missed = await watch(fk, {
      x: byCategory('x'),
      y: byCategory('y'),
      draftX: byCategory('x', false),
      author1: dep.scope('articles', { authorId: 1 }),
      author2: dep.scope('articles', { authorId: 2 }),
    })
    await fk.changed({ table: 'articles', kind: 'insert', pk: 1, after: article(1) })
    expect(await missed()).toEqual(['author1', 'x'])
  })

  it('delete bumps the conditions of the before image', async () => {
    const fk = make()
    const missed = await watch(fk, {
      x: byCategory('x'),
      y: byCategory('y'),
      author2: dep.scope('articles', { authorId: 2 }),
    })
    await fk.changed({
      table: 'articles',
      kind: 'delete',
      pk: 1,
      before: article(1, { category: 'y', authorId: 2 }),
    })
    expect(await missed()).toEqual(['author2', 'y'])
  })

  it('a row moving from category x to y makes both lists miss, and a z list still hits', async () => {
    const fk = make()
    const load = { n: 0 }
    const list = (c: string) => fk.wrap(['v', byCategory(c)], () => `${c}:${++load.n}`)
    expect([await list('x'), await list('y'), await list('z')]).toEqual(['x:1', 'y:2', 'z:3'])
    expect([await list('x'), await list('y'), await list('z')]).toEqual(['x:1', 'y:2', 'z:3'])
    await fk.changed({
      table: 'articles',
      kind: 'update',
      pk: 1,
      before: article(1),
      after: { category: 'y' },
      changed: ['category'],
    })
    expect([await list('x'), await list('y'), await list('z')]).toEqual(['x:4', 'y:5', 'z:3'])
  })

  it('an update of an unscoped field bumps no scope', async () => {
    const fk = make()
    const missed = await watch(fk, { x: byCategory('x'), author1: dep.scope('articles', { authorId: 1 }) })
    await fk.changed({
      table: 'articles',
      kind: 'update',
      pk: 1,
      before: article(1),
      after: article(1, { title: 'new' }),
      changed: ['title'],
    })
    expect(await missed()).toEqual([])
  })

  it('an update bumps only the field lists that share a changed field', async () => {
    const fk = make()
    const missed = await watch(fk, {
      x: byCategory('x'),
      author1: dep.scope('articles', { authorId: 1 }),
      author2: dep.scope('articles', { authorId: 2 }),
    })
    await fk.changed({
      table: 'articles',
      kind: 'update',
      pk: 1,
      before: article(1),
      after: { authorId: 2 },
      changed: ['authorId', 'title'],
    })
    expect(await missed()).toEqual(['author1', 'author2'])
  })

  it('an update with unknown `changed` bumps the before and after conditions of every list', async () => {
    const fk = make()
    const missed = await watch(fk, {
      x: byCategory('x'),
      y: byCategory('y'),
      z: byCategory('z'),
      author1: dep.scope('articles', { authorId: 1 }),
      author2: dep.scope('articles', { authorId: 2 }),
      author3: dep.scope('articles', { authorId: 3 }),
    })
    await fk.changed({
      table: 'articles',
      kind: 'update',
      pk: 1,
      before: article(1),
      after: article(1, { category: 'y', authorId: 2 }),
    })
    expect(await missed()).toEqual(['author1', 'author2', 'x', 'y'])
  })

  it('an update bumps a declared scope only when it changed one of its fields', async () => {
    const fk = make()
    const missed = await watch(fk, { x: byCategory('x'), author1: dep.scope('articles', { authorId: 1 }) })
    await fk.changed({
      table: 'articles',
      kind: 'update',
      pk: 1,
      after: { title: 'new' },
      changed: ['title'],
    })
    expect(await missed()).toEqual([])
    // The row may have left `authorId = 1` (no before image from the write): every condition of that list.
    await fk.changed({
      table: 'articles',
      kind: 'update',
      pk: 1,
      after: { authorId: 2 },
      changed: ['authorId'],
    })
    expect(await missed()).toEqual(['author1'])
    // With the before image the write itself returned, exactly the conditions left and entered.
    const exact = await watch(fk, {
      a1: dep.scope('articles', { authorId: 1 }),
      a3: dep.scope('articles', { authorId: 3 }),
      a4: dep.scope('articles', { authorId: 4 }),
    })
    await fk.changed({
      table: 'articles',
      kind: 'update',
      pk: 1,
      before: article(1, { authorId: 3 }),
      after: { authorId: 4 },
      changed: ['authorId'],
    })
    expect(await exact()).toEqual(['a3', 'a4'])
  })

  it('an unknown before image bumps the whole scope: every condition misses', async () => {
    const fk = make()
    fk.defineScope('comments', ['approved'])
    const missed = await watch(fk, {
      x: byCategory('x'),
      y: byCategory('y'),
      draftZ: byCategory('z', false),
      xy: dep.scope('articles', { published: true, category: ['x', 'y'] }),
      author1: dep.scope('articles', { authorId: 1 }),
      otherTable: dep.scope('comments', { approved: true }),
    })
    await fk.changed({
      table: 'articles',
      kind: 'update',
      pk: 1,
      after: { category: 'y' },
      changed: ['category'],
    })
    expect(await missed()).toEqual(['draftZ', 'x', 'xy', 'y'])
  })

  it('an unknown before image with unknown `changed` bumps every field list of the table', async () => {
    const fk = make()
    const missed = await watch(fk, { x: byCategory('x'), author7: dep.scope('articles', { authorId: 7 }) })
    await fk.changed({ table: 'articles', kind: 'update', pk: 1, after: article(1) })
    expect(await missed()).toEqual(['author7', 'x'])
  })

  it('an after image without a changed scoped field bumps the whole scope', async () => {
    const fk = make()
    const missed = await watch(fk, {
      x: byCategory('x'),
      z: byCategory('z'),
      author1: dep.scope('articles', { authorId: 1 }),
    })
    await fk.changed({
      table: 'articles',
      kind: 'update',
      pk: 1,
      before: article(1),
      after: { title: 'x' },
      changed: ['category'],
    })
    expect(await missed()).toEqual(['x', 'z'])
  })

  it('insert or delete with an image missing a scoped field bumps the whole scope of that list', async () => {
    const fk = make()
    const missed = await watch(fk, {
      x: byCategory('x'),
      z: byCategory('z'),
      author1: dep.scope('articles', { authorId: 1 }),
    })
    await fk.changed({ table: 'articles', kind: 'insert', pk: 1, after: { published: true, authorId: 3 } })
    expect(await missed()).toEqual(['x', 'z'])
    const missed2 = await watch(fk, { x: byCategory('x'), author1: dep.scope('articles', { authorId: 1 }) })
    await fk.changed({ table: 'articles', kind: 'delete', pk: 1 })
    expect(await missed2()).toEqual(['author1', 'x'])
  })

  it('a bulk change bumps every scope of its table, and no other table', async () => {
    const fk = make()
    fk.defineScope('comments', ['approved'])
    const missed = await watch(fk, {
      x: byCategory('x'),
      author1: dep.scope('articles', { authorId: 1 }),
      comments: dep.scope('comments', { approved: true }),
    })
    await fk.changed({ table: 'articles', kind: 'bulk' })
    expect(await missed()).toEqual(['author1', 'x'])
    // After raw SQL, invalidating the table does the same.
    const again = await watch(fk, { x: byCategory('x'), comments: dep.scope('comments', { approved: true }) })
    await fk.invalidate('articles#*')
    expect(await again()).toEqual(['x'])
  })

  it('any-of values depend on the product of their conditions', async () => {
    const fk = make()
    expect(
      fk.tokenKeysOf([dep.scope('articles', { published: [true, false], category: ['x', 'y', 'x'] })]),
    ).toHaveLength(
      4 + 4 + 3, // 2×2 conditions (the repeated 'x' counts once), a field key per value, the two scope-wide keys, bulk
    )
    const missed = await watch(fk, {
      xy: dep.scope('articles', { published: true, category: ['x', 'y'] }),
      single: dep.scope('articles', { published: true, category: ['z'] }),
      zw: dep.scope('articles', { published: true, category: ['z', 'w'] }),
      anyPublished: dep.scope('articles', { published: [true, false], category: 'y' }),
    })
    await fk.changed({ table: 'articles', kind: 'insert', pk: 1, after: article(1, { category: 'y' }) })
    expect(await missed()).toEqual(['anyPublished', 'xy'])
    // A one-value any-of is that value: the same conditions.
    expect(fk.tokenKeysOf([dep.scope('articles', { published: true, category: ['z'] })])).toEqual(
      fk.tokenKeysOf([byCategory('z')]),
    )
  })

  it('several declared lists of one table are independent', async () => {
    const fk = make()
    fk.defineScope('articles', ['published'])
    expect(fk.scopedFields('articles')).toEqual(['authorId', 'category', 'published'])
    const missed = await watch(fk, {
      published: dep.scope('articles', { published: true }),
      drafts: dep.scope('articles', { published: false }),
      x: byCategory('x'),
      draftX: byCategory('x', false),
      author1: dep.scope('articles', { authorId: 1 }),
    })
    await fk.changed({
      table: 'articles',
      kind: 'update',
      pk: 1,
      before: article(1, { published: false }),
      after: { published: true },
      changed: ['published'],
    })
    expect(await missed()).toEqual(['draftX', 'drafts', 'published', 'x'])
  })

  it('equal values in different forms give one condition', async () => {
    const fk = make()
    fk.defineScope('products', [['active'], ['price'], ['since'], ['deletedAt']])
    const same = (field: string, values: unknown[]) => {
      const conditions = values.map((v) => fk.tokenKeysOf([dep.scope('products', { [field]: v })]).join(' '))
      expect(new Set(conditions).size).toBe(1)
    }
    same('active', [true, 1, '1', 1n])
    same('price', ['10.50', 10.5])
    same('since', [new Date(1700000000000), 1700000000000])
    same('deletedAt', [null, undefined])
    const missed = await watch(fk, {
      active: dep.scope('products', { active: true }),
      price: dep.scope('products', { price: '10.50' }),
      since: dep.scope('products', { since: new Date(1700000000000) }),
      live: dep.scope('products', { deletedAt: undefined }),
    })
    await fk.changed({
      table: 'products',
      kind: 'insert',
      pk: 1,
      after: { active: '1', price: 10.5, since: 1700000000000, deletedAt: null },
    })
    expect(await missed()).toEqual(['active', 'live', 'price', 'since'])
  })

  it('a where that matches no declared field list is an UnknownScopeError naming the declared ones', async () => {
    const fk = make()
    const error = await fk.keyFor(dep.scope('articles', { category: 'x' })).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UnknownScopeError)
    expect(error).toBeInstanceOf(FreshkeyError)
    expect(error).toMatchObject({
      code: 'E_UNKNOWN_SCOPE',
      message:
        'no scope of "articles" has exactly the fields [category]; declared: [category, published], [authorId]',
      declared: [['category', 'published'], ['authorId']],
    })
    await expect(fk.wrap(['v', dep.scope('comments', { approved: true })], () => 1)).rejects.toThrow(
      'no scope of "comments" has exactly the fields [approved]; declared: none',
    )
    await expect(fk.invalidate(dep.scope('articles', { published: true }))).rejects.toThrow(UnknownScopeError)
  })

  it('rejects malformed scopes and where values', async () => {
    const fk = make()
    expect(() => fk.defineScope('articles', [])).toThrow(ConfigError)
    expect(() => fk.defineScope('articles', ['a', ''])).toThrow(ConfigError)
    await expect(fk.keyFor(dep.scope('articles', { published: true, category: [] }))).rejects.toThrow(
      InvalidDependencyError,
    )
    const many = Array.from({ length: 40 }, (_, i) => i)
    await expect(fk.keyFor(dep.scope('articles', { published: many, category: many }))).rejects.toThrow(
      'expands to 1600 conditions',
    )
  })

  it('regression: defining one invalid list among several declares none of them', () => {
    const fk = make()
    expect(() => fk.defineScope('articles', [['title'], []])).toThrow(ConfigError)
    expect(fk.scopedFields('articles')).toEqual(['authorId', 'category', 'published'])
  })

  it('regression: where values that only normalize alike share conditions, never a cached value', async () => {
    const fk = make()
    fk.defineScope('items', ['code'])
    const one = dep.scope('items', { code: '1' })
    const onePointZero = dep.scope('items', { code: '1.0' })
    expect(await fk.wrap(['v', one], () => 'rows with code 1')).toBe('rows with code 1')
    expect(await fk.wrap(['v', onePointZero], () => 'rows with code 1.0')).toBe('rows with code 1.0')
    expect(fk.tokenKeysOf([one])).toEqual(fk.tokenKeysOf([onePointZero]))
    const missed = await watch(fk, { one, onePointZero })
    await fk.changed({ table: 'items', kind: 'insert', pk: 1, after: { code: '1.0' } })
    expect(await missed()).toEqual(['one', 'onePointZero'])
    class Opaque {}
    await expect(fk.keyFor(dep.scope('items', { code: new Opaque() }))).rejects.toThrow(InvalidKeyPartError)
  })

  it('fk.invalidate(dep.scope(...)) bumps exactly its conditions', async () => {
    const fk = make()
    const missed = await watch(fk, {
      x: byCategory('x'),
      y: byCategory('y'),
      z: byCategory('z'),
      xz: dep.scope('articles', { published: true, category: ['x', 'z'] }),
      author1: dep.scope('articles', { authorId: 1 }),
    })
    await fk.invalidate(dep.scope('articles', { published: 1, category: ['x', 'y'] }))
    expect(await missed()).toEqual(['x', 'xz', 'y'])
  })

  it('a change costs at most two scope bumps per declared field list, however many lists are cached', async () => {
    const store = makeStore()
    const bumped: string[][] = []
    const spy = new Proxy(store, {
      get(target, prop) {
        if (prop === 'bump') {
          return (request: BumpRequest) => {
            bumped.push([...request.keys])
            return target.bump(request)
          }
        }
        const v = Reflect.get(target, prop, target)
        return typeof v === 'function' ? v.bind(target) : v
      },
    })
    const fk = make(spy)
    for (let i = 0; i < 200; i++) await fk.keyFor(byCategory(`c${i}`))
    await fk.changed({
      table: 'articles',
      kind: 'update',
      pk: 1,
      before: article(1, { category: 'c1' }),
      after: article(1, { category: 'c2', authorId: 2 }),
    })
    const scopeKeys = bumped.flat().filter((k) => k.includes('}:s:') || k.includes('}:w:'))
    expect(scopeKeys).toHaveLength(4) // 2 lists × (before, after)
    expect(bumped).toHaveLength(1)
  })

  it('inside a transaction, reads of a touched scope bypass the cache; commit bumps, rollback does not', async () => {
    const fk = make()
    const load = { n: 0 }
    const list = () => fk.wrap(['v', byCategory('x')], () => ++load.n)
    expect(await list()).toBe(1)
    const insertX: Change = { table: 'articles', kind: 'insert', pk: 9, after: article(9) }

    const rolledBack = fk.transaction()
    await fk.runInTransaction(rolledBack, async () => {
      rolledBack.record(insertX)
      expect(await list()).toBe(2) // read-your-writes: not served from the cache
    })
    rolledBack.rollback()
    expect(await list()).toBe(1)

    const committed = fk.transaction()
    committed.record(insertX)
    await committed.commit()
    expect(await list()).toBe(3)
    expect(await list()).toBe(3)
  })

  it('regression: a class instance in a row image (Decimal, ObjectId) does not fail the write', async () => {
    class Opaque {}
    const fk = make()
    fk.defineScope('orders', [['total'], ['meta']])
    const missed = await watch(fk, {
      total: dep.scope('orders', { total: 10.5 }),
      meta: dep.scope('orders', { meta: 'a' }),
    })
    const tx = fk.transaction()
    expect(() =>
      tx.record({
        table: 'orders',
        kind: 'insert',
        pk: 1,
        after: { total: new Decimal('10.50'), meta: new Opaque() },
      }),
    ).not.toThrow()
    await tx.commit()
    expect(await missed()).toEqual(['total'])
  })

  it('regression: a scoped field named like an Object.prototype member is read from the row only', async () => {
    const fk = make()
    fk.defineScope('odd', ['constructor'])
    const missed = await watch(fk, {
      a: dep.scope('odd', { constructor: 'a' }),
      b: dep.scope('odd', { constructor: 'b' }),
    })
    await fk.changed({ table: 'odd', kind: 'insert', pk: 1, after: { title: 't' } })
    expect(await missed()).toEqual(['a', 'b'])
  })

  describe('entity classes', () => {
    class Article {
      constructor(readonly id: number) {}
    }
    const resolver = {
      identify: (e: object) => (e instanceof Article ? { table: 'articles', pk: e.id } : undefined),
      tableOf: (t: unknown) => (t === Article ? 'articles' : undefined),
    }

    it('fk.defineScope(EntityClass) waits for a resolver, then declares on its table', async () => {
      const fk = createFreshkey({ store: makeStore(), namespace: `scopes-${process.pid}-${seq++}` })
      stores.push(fk.store)
      fk.defineScope(Article, ['published'])
      expect(fk.scopedFields('articles')).toEqual([])
      await expect(fk.keyFor(dep.scope(Article, { published: true }))).rejects.toThrow(
        'no registered resolver knows Article',
      )
      addResolver(fk, resolver)
      expect(fk.scopedFields('articles')).toEqual(['published'])
      fk.defineScope(Article, [['authorId']])
      expect(fk.scopedFields('articles')).toEqual(['authorId', 'published'])
      const missed = await watch(fk, {
        byClass: dep.scope(Article, { published: true }),
        byTable: dep.scope('articles', { published: false }),
      })
      expect(await fk.keyFor(dep.scope(Article, { published: true }))).toBe(
        await fk.keyFor(dep.scope('articles', { published: true })),
      )
      await fk.changed({ table: 'articles', kind: 'insert', pk: 1, after: { published: true, authorId: 1 } })
      expect(await missed()).toEqual(['byClass'])
    })

    it.each([
      ['standard', false],
      ['legacy', true],
    ])('@Scope works as a %s decorator beside an ORM entity decorator', async (_form, legacy) => {
      const tables = new Map<Function, string>()
      const Entity = (table: string) => (target: Function) => {
        tables.set(target, table)
      }
      const Decorated = compileDecorated(legacy, { Entity, Scope })
      expect(tables.get(Decorated)).toBe('articles')
      expect(scopesOf(Decorated)).toEqual([['published', 'category'], ['authorId']])
      const fk = createFreshkey({ store: makeStore(), namespace: `scopes-${process.pid}-${seq++}` })
      stores.push(fk.store)
      addResolver(fk, { identify: () => undefined, tableOf: (t) => tables.get(t as Function) })
      // The first dep.scope of the class declares its @Scope lists on the table.
      const missed = await watch(fk, {
        x: dep.scope(Decorated, { published: true, category: 'x' }),
        author2: dep.scope(Decorated, { authorId: 2 }),
      })
      expect(fk.scopedFields('articles')).toEqual(['authorId', 'category', 'published'])
      await fk.changed({
        table: 'articles',
        kind: 'delete',
        pk: 3,
        before: { published: true, category: 'x', authorId: 1 },
      })
      expect(await missed()).toEqual(['x'])
    })

    it('regression: @Scope lists of a parent class apply to its subclasses', () => {
      // Applied by hand: the test transform does not lower decorators (compileDecorated covers the syntax).
      class Content {}
      Scope(['published'])(Content)
      class Post extends Content {}
      Scope(['category'])(Post)
      class Page extends Content {}
      expect(scopesOf(Post)).toEqual([['category'], ['published']])
      expect(scopesOf(Page)).toEqual([['published']])
      expect(scopesOf(Content)).toEqual([['published']])
      expect(scopesOf(class Plain {})).toBeUndefined()
    })

    it('regression: @Scope rejects field names passed without a list instead of splitting them', () => {
      const asStrings = Scope as unknown as (...fields: string[]) => unknown
      expect(() => asStrings('published', 'category')).toThrow(ConfigError)
      expect(() => Scope()).toThrow(ConfigError)
      const onMethod = Scope(['published']) as unknown as (target: unknown, context: unknown) => void
      expect(() => onMethod(() => {}, { kind: 'method', name: 'm' })).toThrow(
        '@Scope decorates an entity class',
      )
    })
  })
})
