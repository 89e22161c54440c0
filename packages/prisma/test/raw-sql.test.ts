import { describe, expect, it } from 'vitest'
import { rawMayWrite, rawSqlText } from '../src/raw-sql.ts'

// What the SQL text itself writes is core's rule: test/sql-tables.test.ts.
describe('raw SQL classification', () => {
  it('reads the SQL of every raw operation shape', () => {
    expect(rawSqlText('$executeRawUnsafe', ['UPDATE t SET a = 1'])).toBe('UPDATE t SET a = 1')
    expect(rawSqlText('$executeRaw', { strings: ['UPDATE t SET a = ', ''], values: [1] })).toBe(
      'UPDATE t SET a = ?',
    )
    expect(rawSqlText('$queryRawTyped', { sql: 'SELECT 1' })).toBe('SELECT 1')
  })

  it('$executeRaw always writes; $queryRaw writes when its SQL may, or when it has none', () => {
    expect(rawMayWrite('$executeRaw', { strings: ['SELECT 1'], values: [] })).toBe(true)
    expect(rawMayWrite('$runCommandRaw', {})).toBe(true)
    expect(rawMayWrite('$queryRawUnsafe', ['  select * from t'])).toBe(false)
    expect(rawMayWrite('$queryRaw', { strings: ['SELECT * FROM t WHERE id = ', ''], values: [1] })).toBe(
      false,
    )
    expect(rawMayWrite('$queryRawUnsafe', ['INSERT INTO t VALUES (1) RETURNING id'])).toBe(true)
    expect(rawMayWrite('$queryRaw', {})).toBe(true)
  })
})
