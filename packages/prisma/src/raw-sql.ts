import { sqlWrites } from '@freshkey/core/adapter'

/** The SQL text of a raw operation's arguments, when there is one. */
export function rawSqlText(operation: string, args: unknown): string | undefined {
  if (operation === '$executeRawUnsafe' || operation === '$queryRawUnsafe')
    return Array.isArray(args) && typeof args[0] === 'string' ? args[0] : undefined
  if (args !== null && typeof args === 'object') {
    const a = args as { strings?: unknown; sql?: unknown; text?: unknown }
    if (Array.isArray(a.strings)) return a.strings.join('?')
    if (typeof a.sql === 'string') return a.sql
    if (typeof a.text === 'string') return a.text
  }
  return undefined
}

/** The parameters of a raw operation's arguments. */
export function rawParameters(operation: string, args: unknown): readonly unknown[] {
  if (operation.endsWith('Unsafe')) return Array.isArray(args) ? args.slice(1) : []
  const values = (args as { values?: unknown } | null)?.values
  return Array.isArray(values) ? values : []
}

/**
 * Whether a raw operation may write. `$executeRaw*` and `$runCommandRaw` always may; `$queryRaw*`
 * may when its SQL may (core's `sqlWrites`) or cannot be read.
 */
export function rawMayWrite(operation: string, args: unknown): boolean {
  if (operation.startsWith('$executeRaw') || operation === '$runCommandRaw') return true
  if (!operation.startsWith('$queryRaw')) return false
  const sql = rawSqlText(operation, args)
  return sql === undefined || sqlWrites(sql)
}
