import { createFreshkey, memoryStore } from '@freshkey/core'
import {
  Binding,
  bulkFact,
  classInstances,
  filteredRead,
  knownTables,
  kyselyTables,
  type PendingFill,
  ResultCache,
  removeAdded,
  SchemaGraph,
  sqlTextOf,
  wholePlan,
} from '@freshkey/core/adapter'
import { describe, expect, test } from 'vitest'
import { freshNamespace } from '../helpers.ts'

const graph = new SchemaGraph({
  tables: ['posts', 'users'].map((name) => ({ name, primaryKey: ['id'] })),
  foreignKeys: [],
})

describe('statement texts and names', () => {
  test('sqlTextOf: a string, a fragment with sql, a builder with toSQL() or toRaw()', () => {
    expect(sqlTextOf('SELECT 1')).toBe('SELECT 1')
    expect(sqlTextOf({ sql: 'SELECT 2', params: [] })).toBe('SELECT 2')
    expect(sqlTextOf({ toSQL: () => ({ sql: 'SELECT 3' }) })).toBe('SELECT 3')
    expect(sqlTextOf({ toRaw: () => ({ sql: 'SELECT 4' }) })).toBe('SELECT 4')
    const broken = {
      toSQL: () => {
        throw new Error('no')
      },
    }
    expect(sqlTextOf(broken)).toBeUndefined()
    expect(sqlTextOf(42)).toBeUndefined()
  })

  test('kyselyTables: every table node, however deep', () => {
    const table = (name: string) => ({ kind: 'TableNode', table: { identifier: { name } } })
    const node = {
      kind: 'SelectQueryNode',
      from: { froms: [table('posts')] },
      joins: [{ table: table('users') }],
    }
    expect([...kyselyTables(node)].sort()).toEqual(['posts', 'users'])
  })

  test('knownTables: the tables named when freshkey knows them all, else every table', () => {
    expect(knownTables(graph, ['users'])).toEqual(['users'])
    expect(knownTables(graph, []).sort()).toEqual(['posts', 'users'])
    expect(knownTables(graph, ['users', 'a_view']).sort()).toEqual(['posts', 'users'])
  })
})

describe('filteredRead', () => {
  const read = (
    where: Record<string, unknown>[] | undefined,
    pinned: number[],
    returned?: (number | undefined)[],
  ) => filteredRead('posts', where, pinned, returned, ['published'])

  test('whole when the filter is not understood or a returned row has no key', () => {
    expect(read(undefined, [], [1])).toEqual({ table: 'posts', whole: true })
    expect(read([{ published: true }], [], [1, undefined])).toEqual({ table: 'posts', whole: true })
  })

  test('rows only when the filter names every row by key', () => {
    expect(read([], [3], [3])).toEqual({ table: 'posts', rows: [3, 3] })
    expect(read([], [], [])).toEqual({ table: 'posts', rows: [] })
  })

  test('the filter, watched, with the rows; a count does not enumerate', () => {
    expect(read([{ published: true }], [], [1, 2])).toEqual({
      table: 'posts',
      rows: [1, 2],
      where: [{ published: true }],
      watch: ['published'],
    })
    expect(filteredRead('posts', [{ published: true }], [], undefined, '*')).toEqual({
      table: 'posts',
      rows: [],
      where: [{ published: true }],
      watch: '*',
      enumerates: false,
    })
  })
})

describe('removeAdded', () => {
  test('takes out the added fields at every level, in place', () => {
    const rows = [
      { id: 1, title: 'a', author: { id: 7, name: 'x' } },
      null,
      { id: 2, title: 'b', author: null },
    ]
    removeAdded(rows, { added: ['id'], children: [['author', { added: ['id'], children: [] }]] })
    expect(rows).toEqual([{ title: 'a', author: { name: 'x' } }, null, { title: 'b', author: null }])
  })
})

describe('classInstances', () => {
  class DbNull {}
  class JsonNull {}
  test('tags instances of classes with their class name; plain objects are not', () => {
    expect(classInstances.test(new DbNull())).toBe(true)
    expect(classInstances.test({})).toBe(false)
    expect(classInstances.encode(new DbNull())).not.toEqual(classInstances.encode(new JsonNull()))
    expect(classInstances.decode(classInstances.encode(Object.assign(new DbNull(), { a: 1 })))).toEqual({
      a: 1,
    })
  })
})

describe('ResultCache.lookupQuery and fillQuery', () => {
  function setup() {
    const errors: unknown[] = []
    const fk = createFreshkey({ store: memoryStore(), namespace: freshNamespace('kit-rc'), logger: false })
    const binding = new Binding(fk, {}, 'kit', { onError: (e) => errors.push(e) })
    binding.setGraph(graph)
    return { fk, binding, errors, cache: new ResultCache(fk, 'kit') }
  }

  test('a miss fills by its plan, the next lookup hits, a write to a table it read misses', async () => {
    const { binding, cache } = setup()
    const plan = () => wholePlan(['posts'])
    const miss = await cache.lookupQuery(binding, 'q', plan)
    expect(miss.hit).toBe(false)
    const pending = (miss as { pending?: PendingFill }).pending!
    expect(await cache.fillQuery(pending, [{ id: 1 }])).toBe(true)
    expect(await cache.lookupQuery(binding, 'q', plan)).toEqual({ hit: true, value: [{ id: 1 }] })
    await binding.record(undefined, [bulkFact('posts', 'update')])
    expect((await cache.lookupQuery(binding, 'q', plan)).hit).toBe(false)
  })

  test('none inside a cached loader; a plan that throws is reported, nothing looked up or stored', async () => {
    const { fk, binding, cache, errors } = setup()
    const inLoader = await fk.wrap(['k'], () => cache.lookupQuery(binding, 'q', () => wholePlan(['posts'])))
    expect(inLoader).toEqual({ hit: false })
    const failing = () => {
      throw new Error('plan')
    }
    expect(await cache.lookupQuery(binding, 'q', failing)).toEqual({ hit: false })
    const miss = (await cache.lookupQuery(binding, 'r', () => ({ tables: ['posts'], records: failing }))) as {
      pending?: PendingFill
    }
    expect(await cache.fillQuery(miss.pending!, [])).toBe(false)
    expect(errors).toHaveLength(2)
  })
})

describe('SchemaGraph actions', () => {
  test("Prisma's spelling (SetNull, Cascade) is an action like SET NULL and CASCADE", () => {
    const g = new SchemaGraph({
      tables: ['users', 'posts', 'comments'].map((name) => ({ name, primaryKey: ['id'] })),
      foreignKeys: [
        { table: 'posts', columns: ['authorId'], references: 'users', onDelete: 'SetNull' },
        { table: 'comments', columns: ['userId'], references: 'users', onDelete: 'Cascade' },
      ],
    })
    expect([...g.deleteCascades('users')].sort()).toEqual(['comments', 'posts'])
  })
})
