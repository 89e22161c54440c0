import { describe, expect, it } from 'vitest'
import { segment } from '../../packages/core/src/encoding.ts'
import { Keyspace } from '../../packages/core/src/keyspace.ts'

// Row keys are remembered per table (Keyspace.rowOf) and forgotten at once past a bound: what a
// row key is must never depend on what was remembered.
describe('remembered row keys', () => {
  const expected = (ks: Keyspace, table: string, pk: string) =>
    `${ks.tableKeys(table).rowPrefix}${segment(pk)}`

  it('are the keys built from scratch, for plain and escaped primary keys, across tables', () => {
    const ks = new Keyspace('rows', 'v1')
    for (const pk of ['1', 'a:b', '{x}', '#7', 'é', 'x'.repeat(300)]) {
      for (const table of ['users', 'posts']) {
        expect(ks.row(table, pk)).toBe(expected(ks, table, pk))
        expect(ks.row(table, pk)).toBe(expected(ks, table, pk)) // remembered
      }
    }
    expect(ks.row('users', '1')).not.toBe(ks.row('posts', '1'))
  })

  it('stay right after the memo is forgotten past its bound', () => {
    const ks = new Keyspace('rows', 'v1')
    const first = ks.row('users', '1')
    for (let i = 0; i < 100_050; i++) ks.row(i % 2 ? 'users' : 'posts', `p${i}`)
    expect(ks.tableKeys('users').rows.size + ks.tableKeys('posts').rows.size).toBeLessThanOrEqual(100_000)
    expect(ks.tableKeys('users').rows.has('1')).toBe(false) // forgotten once
    expect(ks.row('users', '1')).toBe(first)
    expect(ks.row('posts', 'p100048')).toBe(expected(ks, 'posts', 'p100048'))
  })
})
