/** The SQL text of a raw operation's arguments, when there is one. */
export function rawSqlText(operation: string, args: unknown): string | undefined {
  if (operation === '$executeRawUnsafe' || operation === '$queryRawUnsafe') {
    return Array.isArray(args) && typeof args[0] === 'string' ? args[0] : undefined
  }
  if (args !== null && typeof args === 'object') {
    const a = args as { strings?: unknown; sql?: unknown; text?: unknown }
    if (Array.isArray(a.strings)) return a.strings.join('?')
    if (typeof a.sql === 'string') return a.sql
    if (typeof a.text === 'string') return a.text
  }
  return undefined
}

const READ_ONLY = /^(select|show|explain|values|table|pragma|describe|desc)\b/
const WRITE_WORD =
  /\b(insert|update|delete|merge|upsert|replace|truncate|alter|drop|create|copy|call|exec|execute)\b/

/**
 * Whether a raw operation may write. `$executeRaw*` always may; `$queryRaw*` may when its SQL is not
 * a plain read (`SELECT ... FOR UPDATE`, `WITH ... SELECT` without a data-modifying CTE and `SHOW`
 * are reads; `INSERT ... RETURNING` is a write). Unknown text counts as a write.
 */
export function rawMayWrite(operation: string, args: unknown): boolean {
  if (operation.startsWith('$executeRaw') || operation === '$runCommandRaw') return true
  if (!operation.startsWith('$queryRaw')) return false
  const sql = rawSqlText(operation, args)
  if (sql === undefined) return true
  const text = stripComments(sql).trim().toLowerCase()
  if (READ_ONLY.test(text)) return WRITE_WORD.test(text.replace(/\bfor\s+update\b/g, ''))
  if (text.startsWith('with')) return WRITE_WORD.test(text)
  return true
}

function stripComments(sql: string): string {
  return sql.replace(/--[^\n]*/g, ' ').replace(/\/\*[\s\S]*?\*\//g, ' ')
}
