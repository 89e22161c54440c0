import { sqlWrites } from '@freshkey/core'

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

/**
 * Whether a raw operation may write. `$executeRaw*` and `$runCommandRaw` always may; `$queryRaw*`
 * may when its SQL may ({@link sqlWrites}) or cannot be read.
 */
export function rawMayWrite(operation: string, args: unknown): boolean {
  if (operation.startsWith('$executeRaw') || operation === '$runCommandRaw') return true
  if (!operation.startsWith('$queryRaw')) return false
  const sql = rawSqlText(operation, args)
  return sql === undefined || sqlWrites(sql)
}
