import {
  ConfigError,
  createFreshkey,
  dep,
  type FreshkeyError,
  type FreshkeyOptions,
  InvalidDependencyError,
  InvalidKeyPartError,
  memoryStore,
  type PrimaryKey,
  TransactionStateError,
} from '@freshkey/core'
import { afterAll, describe, expect, it } from 'vitest'
import { counting, freshNamespace } from './helpers.ts'

type ErrorClass = abstract new (...args: never[]) => FreshkeyError

function expectError(run: () => unknown, type: ErrorClass, code: string): FreshkeyError {
  let thrown: unknown
  try {
    run()
  } catch (e) {
    thrown = e
  }
  expect(thrown).toBeInstanceOf(type)
  expect((thrown as FreshkeyError).code).toBe(code)
  return thrown as FreshkeyError
}

async function expectRejection(
  run: () => Promise<unknown>,
  type: ErrorClass,
  code: string,
): Promise<FreshkeyError> {
  const thrown = await run().then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(thrown).toBeInstanceOf(type)
  expect((thrown as FreshkeyError).code).toBe(code)
  return thrown as FreshkeyError
}

// Bad input is refused before any store call, so these run on a counting memory store.
const probe = counting(memoryStore())
const fk = createFreshkey({ store: probe.store, namespace: freshNamespace('bad') })
afterAll(async () => {
  await fk.close()
  await probe.store.close()
})

describe('keyFor refuses parts that have no stable key form', () => {
  const circular: Record<string, unknown> = { a: 1 }
  circular.self = circular
  const circularArray: unknown[] = [1]
  circularArray.push(circularArray)
  class Unknown {
    readonly id = 1
  }
  const cases: [string, unknown, string][] = [
    ['undefined', undefined, 'parts[0]'],
    ['undefined nested in an array', [1, undefined], 'parts[0][1]'],
    ['a function no resolver knows', function loadUser() {}, 'parts[0]'],
    ['an arrow function', () => 1, 'parts[0]'],
    ['a symbol', Symbol('s'), 'parts[0]'],
    ['a symbol nested in an object', { s: Symbol.iterator }, 'parts[0].s'],
    ['a circular object', circular, 'parts[0].self'],
    ['a circular array', circularArray, 'parts[0][1]'],
    ['a class instance no resolver knows', new Unknown(), 'parts[0]'],
    ['a Map (not a plain object)', new Map([[1, 2]]), 'parts[0]'],
    ['NaN', Number.NaN, 'parts[0]'],
    ['NaN nested in an object', { page: Number.NaN }, 'parts[0].page'],
    ['an invalid Date', new Date(Number.NaN), 'parts[0]'],
  ]
  it.each(cases)('%s', async (_name, part, path) => {
    probe.reset()
    const e = await expectRejection(() => fk.keyFor('ok', part), InvalidKeyPartError, 'E_INVALID_KEY_PART')
    // The path names the offending part (shifted by the leading 'ok').
    expect((e as InvalidKeyPartError).path).toBe(path.replace('parts[0]', 'parts[1]'))
    expect(probe.calls).toEqual({})
  })

  it('a dependency string with "*" as table other than "*#*"', async () => {
    await expectRejection(() => fk.keyFor('*#1'), InvalidDependencyError, 'E_INVALID_DEPENDENCY')
  })
})

describe('dependency builders refuse malformed dependencies', () => {
  const rows: [string, unknown, unknown][] = [
    ['a missing pk', 'users', undefined],
    ['a null pk', 'users', null],
    ['an empty string pk', 'users', ''],
    ['a NaN pk', 'users', Number.NaN],
    ['an Infinity pk', 'users', Number.POSITIVE_INFINITY],
    ['a boolean pk', 'users', true],
    ['an array pk', 'users', [1, 2]],
    ['an empty composite pk', 'users', {}],
    ['a composite pk with an empty column value', 'users', { a: 1, b: '' }],
    ['a composite pk with a null column', 'users', { a: 1, b: null }],
    ['an empty table name', '', 1],
    ['a non-string table name', 42, 1],
  ]
  it.each(rows)('dep.row with %s', (_name, table, pk) => {
    expectError(
      () => dep.row(table as string, pk as PrimaryKey),
      InvalidDependencyError,
      'E_INVALID_DEPENDENCY',
    )
  })

  it('dep.table with an empty table name', () => {
    expectError(() => dep.table(''), InvalidDependencyError, 'E_INVALID_DEPENDENCY')
  })

  it('dep.tag with an empty name', () => {
    expectError(() => dep.tag(''), InvalidDependencyError, 'E_INVALID_DEPENDENCY')
  })

  it('a change without a table name', async () => {
    await expectRejection(
      () => fk.changed({ table: '', kind: 'update', pk: 1 }),
      InvalidDependencyError,
      'E_INVALID_DEPENDENCY',
    )
  })

  it('a change without a pk', async () => {
    const change = { table: 'users', kind: 'update' } as unknown as Parameters<typeof fk.changed>[0]
    await expectRejection(() => fk.changed(change), InvalidDependencyError, 'E_INVALID_DEPENDENCY')
  })

  it('a change of unknown kind', async () => {
    const change = { table: 'users', kind: 'upsert', pk: 1 } as unknown as Parameters<typeof fk.changed>[0]
    await expectRejection(() => fk.changed(change), InvalidDependencyError, 'E_INVALID_DEPENDENCY')
  })

  it('recording a bad change into a transaction throws at record time and leaves it usable', () => {
    const tx = fk.transaction()
    expectError(
      () => tx.record({ table: 'users', kind: 'delete', pk: '' }),
      InvalidDependencyError,
      'E_INVALID_DEPENDENCY',
    )
    tx.record({ table: 'users', kind: 'delete', pk: 1 })
    expect(tx.changes).toHaveLength(1)
    tx.rollback()
  })
})

describe('bad Alkey strings are refused wherever a dependency is expected', () => {
  const bad = ['users', 'users#', '#1', '#', '*#1', '*#', '', ' ']
  it.each(bad)('invalidate(%j)', async (text) => {
    probe.reset()
    await expectRejection(() => fk.invalidate(text), InvalidDependencyError, 'E_INVALID_DEPENDENCY')
    expect(probe.calls).toEqual({})
  })

  it('a value that is neither a dependency nor a string', async () => {
    const notADep = { table: 'users', pk: 1 } as unknown as string
    await expectRejection(() => fk.invalidate(notADep), InvalidDependencyError, 'E_INVALID_DEPENDENCY')
  })
})

describe('createFreshkey refuses bad options', () => {
  const store = memoryStore()
  afterAll(() => store.close())
  const cases: [string, unknown][] = [
    ['no options', undefined],
    ['a missing store', { namespace: 'x' }],
    ['a store without tokens()', { store: {}, namespace: 'x' }],
    ['a missing namespace', { store }],
    ['an empty namespace', { store, namespace: '' }],
    ['a non-string namespace', { store, namespace: 7 }],
    ['an empty version', { store, namespace: 'x', version: '' }],
    ['a zero tokenTtl', { store, namespace: 'x', tokenTtl: 0 }],
    ['a negative tokenTtl', { store, namespace: 'x', tokenTtl: -5 }],
    ['a NaN tokenTtl', { store, namespace: 'x', tokenTtl: Number.NaN }],
    ['an infinite tokenTtl', { store, namespace: 'x', tokenTtl: Number.POSITIVE_INFINITY }],
    ['a zero ttl', { store, namespace: 'x', ttl: 0 }],
    ['a negative ttl', { store, namespace: 'x', ttl: -1 }],
    ['a string ttl', { store, namespace: 'x', ttl: '60' }],
  ]
  it.each(cases)('%s', (_name, options) => {
    expectError(() => createFreshkey(options as FreshkeyOptions), ConfigError, 'E_CONFIG')
  })
})

describe('transactions refuse use after they ended', () => {
  it('record after commit', async () => {
    const tx = fk.transaction()
    await tx.commit()
    expectError(
      () => tx.record({ table: 'users', kind: 'update', pk: 1 }),
      TransactionStateError,
      'E_TRANSACTION_STATE',
    )
  })

  it('commit after rollback', async () => {
    const tx = fk.transaction()
    tx.rollback()
    await expectRejection(() => tx.commit(), TransactionStateError, 'E_TRANSACTION_STATE')
  })
})
