import { describe, expect, it } from 'vitest'
import { rawMayWrite, rawSqlText } from '../src/raw-sql.ts'

describe('raw SQL classification', () => {
  it('reads the SQL of every raw operation shape', () => {
    expect(rawSqlText('$executeRawUnsafe', ['UPDATE t SET a = 1'])).toBe('UPDATE t SET a = 1')
    expect(rawSqlText('$executeRaw', { strings: ['UPDATE t SET a = ', ''], values: [1] })).toBe(
      'UPDATE t SET a = ?',
    )
    expect(rawSqlText('$queryRawTyped', { sql: 'SELECT 1' })).toBe('SELECT 1')
  })

  it('$executeRaw always writes; $queryRaw writes unless it is a plain read', () => {
    expect(rawMayWrite('$executeRaw', { strings: ['SELECT 1'], values: [] })).toBe(true)
    expect(rawMayWrite('$queryRawUnsafe', ['  select * from t'])).toBe(false)
    expect(rawMayWrite('$queryRawUnsafe', ['SELECT id FROM t WHERE id = 1 FOR UPDATE'])).toBe(false)
    expect(rawMayWrite('$queryRawUnsafe', ['/* hi */ -- x\n SELECT 1'])).toBe(false)
    expect(rawMayWrite('$queryRawUnsafe', ['INSERT INTO t VALUES (1) RETURNING id'])).toBe(true)
    expect(rawMayWrite('$queryRawUnsafe', ['WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x'])).toBe(
      true,
    )
    expect(rawMayWrite('$queryRawUnsafe', ['WITH x AS (SELECT 1) SELECT * FROM x'])).toBe(false)
    expect(rawMayWrite('$queryRaw', {})).toBe(true)
  })
})
