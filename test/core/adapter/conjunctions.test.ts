import {
  andConjunctions,
  combinations,
  keyCombinations,
  primaryKeyOf,
  referencingFilter,
} from '@freshkey/core/adapter'
import { describe, expect, test } from 'vitest'

describe('andConjunctions', () => {
  test('each of a with each of b; a field in both keeps the first condition (wider)', () => {
    expect(andConjunctions([{ a: 1 }, { a: 2 }], [{ b: 3 }, { b: 4 }])).toEqual([
      { a: 1, b: 3 },
      { a: 1, b: 4 },
      { a: 2, b: 3 },
      { a: 2, b: 4 },
    ])
    expect(andConjunctions([{ a: 1 }], [{ a: 2, b: 3 }])).toEqual([{ a: 1, b: 3 }])
    expect(andConjunctions([{}], [{ b: 1 }])).toEqual([{ b: 1 }])
    expect(andConjunctions([], [{ b: 1 }])).toEqual([])
  })
})

describe('combinations and keyCombinations', () => {
  const values: Record<string, unknown[] | undefined> = { a: [1, 2], b: [3], c: undefined, d: [] }
  const of = (f: string) => values[f] as number[] | undefined

  test('every combination of the values each field allows', () => {
    expect(combinations(['a', 'b'], of, 10)).toEqual([
      { a: 1, b: 3 },
      { a: 2, b: 3 },
    ])
    expect(combinations([], of, 10)).toEqual([{}])
    expect(combinations(['a', 'd'], of, 10)).toEqual([])
  })

  test('undefined when a field cannot be named or there are more than max', () => {
    expect(combinations(['a', 'c'], of, 10)).toBeUndefined()
    expect(combinations(['a', 'a'], of, 3)).toBeUndefined()
    expect(combinations(['a', 'a'], of, 4)).toHaveLength(4)
  })

  test('keys: a single field gives its values, several give objects', () => {
    expect(keyCombinations(['a'], of, 10)).toEqual([1, 2])
    expect(keyCombinations(['a', 'b'], of, 10)).toEqual([
      { a: 1, b: 3 },
      { a: 2, b: 3 },
    ])
    expect(keyCombinations(['c'], of, 10)).toBeUndefined()
  })
})

describe('primaryKeyOf', () => {
  const row: Record<string, string | number | undefined> = { id: 7, org: 'x', gone: undefined }
  test('a single field is its value, several an object; a missing value makes no key', () => {
    expect(primaryKeyOf(['id'], (f) => row[f])).toBe(7)
    expect(primaryKeyOf(['org', 'id'], (f) => row[f])).toEqual({ org: 'x', id: 7 })
    expect(primaryKeyOf(['id', 'gone'], (f) => row[f])).toBeUndefined()
  })
})

describe('referencingFilter', () => {
  test('one field: one IN of the distinct keys, nulls matching nothing', () => {
    expect(referencingFilter([[1], [2], [1], [null]], ['authorId'])).toEqual([{ authorId: [1, 2] }])
    expect(referencingFilter([], ['authorId'])).toEqual([{ authorId: [] }])
  })

  test('several fields: one conjunction per key; an unknown value makes the filter unknown', () => {
    expect(
      referencingFilter(
        [
          [1, 'a'],
          [2, null],
        ],
        ['userId', 'groupId'],
      ),
    ).toEqual([{ userId: 1, groupId: 'a' }])
    expect(referencingFilter([[1], [undefined]], ['authorId'])).toBeUndefined()
  })
})
