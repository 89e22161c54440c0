import { createFreshkey, memoryStore } from '@freshkey/core'
import {
  Binding,
  isRawSqlPolicy,
  rawReadTables,
  SchemaGraph,
  StatementCache,
  viewTables,
  type WriteFact,
} from '@freshkey/core/adapter'
import { describe, expect, test } from 'vitest'

const graphOf = (...names: string[]) =>
  new SchemaGraph({ tables: names.map((name) => ({ name, primaryKey: ['id'] })), foreignKeys: [] })
const graph = graphOf('posts', 'users')

describe('rawReadTables', () => {
  test('the tables a read names', () => {
    expect(rawReadTables(graph, 'SELECT title FROM posts WHERE id = $1')).toEqual(['posts'])
    expect(rawReadTables(graph, 'SELECT * FROM posts p JOIN users u ON u.id = p.author').sort()).toEqual([
      'posts',
      'users',
    ])
  })

  test('every table when it names none, names one freshkey does not know, or its text is unknown', () => {
    expect(rawReadTables(graph, 'SELECT count_posts()').sort()).toEqual(['posts', 'users'])
    expect(rawReadTables(graph, 'SELECT * FROM post_summaries').sort()).toEqual(['posts', 'users'])
    expect(rawReadTables(graph, undefined).sort()).toEqual(['posts', 'users'])
  })
})

describe('isRawSqlPolicy', () => {
  test.each([['parse'], ['all'], ['ignore'], [() => undefined]])('%s is a policy', (p) => {
    expect(isRawSqlPolicy(p)).toBe(true)
  })
  test.each([[5], ['none'], [undefined], [null]])('%s is not', (p) => {
    expect(isRawSqlPolicy(p)).toBe(false)
  })
})

describe('StatementCache', () => {
  test('computes a statement once while it is among the most recent ones', () => {
    const cache = new StatementCache<number>(2)
    let runs = 0
    const get = (sql: string) => cache.get(sql, () => ++runs)
    expect([get('a'), get('b'), get('a')]).toEqual([1, 2, 1])
    get('c') // evicts b, the least recently used
    expect(get('a')).toBe(1)
    expect(get('b')).toBe(4)
    cache.clear()
    expect(get('a')).toBe(5)
  })
})

describe('Binding raw SQL', () => {
  const fk = createFreshkey({ store: memoryStore(), namespace: 'kit-raw', logger: false })
  const bindingWith = (rawSql: ConstructorParameters<typeof Binding>[3]) => {
    const b = new Binding(fk, {}, 'kit', rawSql)
    b.setGraph(graph)
    return b
  }

  test('facts parsed once per statement text, again after the schema graph changed', () => {
    const b = bindingWith({})
    const first = b.rawFacts('UPDATE posts SET title = $1', ['x'])
    expect(first).toEqual([{ table: 'posts', kind: 'bulk', verb: 'update' }])
    expect(b.rawFacts('UPDATE posts SET title = $1', ['y'])).toBe(first)
    b.setGraph(graphOf('posts'))
    expect(b.rawFacts('UPDATE posts SET title = $1', ['y'])).not.toBe(first)
  })

  test('a policy function decides every time; one that throws is reported and writes every table', () => {
    let calls = 0
    const errors: unknown[] = []
    const declared = bindingWith({ rawSql: () => (++calls > 0 ? ['users'] : undefined) })
    declared.rawFacts('CALL refresh()', [])
    expect(declared.rawFacts('CALL refresh()', [])).toEqual([
      { table: 'users', kind: 'bulk', verb: 'unknown' },
    ])
    expect(calls).toBe(2)
    const failing = bindingWith({
      rawSql: () => {
        throw new Error('bad policy')
      },
      onError: (e) => errors.push(e),
    })
    const all: WriteFact[] = ['posts', 'users'].map((table) => ({ table, kind: 'bulk', verb: 'unknown' }))
    expect(failing.rawFacts('CALL refresh()', [])).toEqual(all)
    expect(errors).toHaveLength(1)
  })

  test('a statement whose text is unknown writes every table, nothing under ignore', () => {
    expect(bindingWith({}).rawFacts(undefined, [])).toHaveLength(2)
    expect(bindingWith({ rawSql: 'ignore' }).rawFacts(undefined, [])).toEqual([])
  })

  test('raw read tables, cached per text', () => {
    const b = bindingWith({})
    expect(b.rawReadTables('SELECT * FROM users')).toEqual(['users'])
    expect(b.rawReadTables('SELECT 1').sort()).toEqual(['posts', 'users'])
    expect(b.rawReadTables(undefined).sort()).toEqual(['posts', 'users'])
  })
})

describe('viewTables', () => {
  const known = new Set(['users', 'posts', 'user_posts', 'active_users'])
  test('a view reads the tables its SQL names, through the views it names in turn', () => {
    const views = new Map<string, string | undefined>([
      ['active_users', 'SELECT * FROM users WHERE active'],
      ['user_posts', 'SELECT * FROM active_users a JOIN posts p ON p.author_id = a.id'],
    ])
    const out = viewTables(views, known)
    expect(out.get('active_users')).toEqual(['users'])
    expect(out.get('user_posts')!.sort()).toEqual(['posts', 'users'])
  })

  test('a view whose SQL is unknown reads every table; views that name each other stop', () => {
    const out = viewTables(
      new Map<string, string | undefined>([
        ['active_users', undefined],
        ['user_posts', 'SELECT * FROM user_posts'],
      ]),
      known,
    )
    expect(out.get('active_users')!.sort()).toEqual([...known].sort())
    expect(out.get('user_posts')).toEqual(['user_posts'])
  })
})
