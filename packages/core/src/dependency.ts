import { InvalidDependencyError } from './errors.ts'

/** One column value of a primary key. Compared by string form: `1`, `'1'` and `1n` are the same row. */
export type PrimaryKeyValue = string | number | bigint

/** A primary key: one value, or an object of column → value for composite keys. */
export type PrimaryKey = PrimaryKeyValue | Readonly<Record<string, PrimaryKeyValue>>

const DEP: unique symbol = Symbol.for('freshkey.dependency')

/** Something a cached value depends on. Build with {@link dep}; Alkey strings (`users#1`) are accepted too. */
export type Dependency =
  | { readonly [DEP]: true; readonly type: 'row'; readonly table: string; readonly pk: string }
  | { readonly [DEP]: true; readonly type: 'table'; readonly table: string }
  | { readonly [DEP]: true; readonly type: 'all' }
  | { readonly [DEP]: true; readonly type: 'tag'; readonly name: string }
  | {
      readonly [DEP]: true
      readonly type: 'scope'
      /** Table name, or an entity class/model that a resolver maps to a table. */
      readonly target: string | object
      readonly where: Readonly<Record<string, unknown>>
    }

/** A dependency object or its Alkey string form (`'users#1'`, `'users#*'`, `'*#*'`). */
export type DependencyLike = Dependency | string

export function isDependency(value: unknown): value is Dependency {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[DEP] === true
}

function tableName(table: string): string {
  if (typeof table !== 'string' || table.length === 0) {
    throw new InvalidDependencyError('a table name must be a non-empty string')
  }
  return table
}

function pkValue(value: unknown, what: string): string {
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidDependencyError(`${what} must be finite, got ${value}`)
    return Number.isInteger(value) && Math.abs(value) >= 1e21 ? BigInt(value).toString() : String(value)
  }
  if (typeof value === 'string') {
    if (value.length === 0) throw new InvalidDependencyError(`${what} must not be empty`)
    return value
  }
  throw new InvalidDependencyError(`${what} must be a string, number or bigint, got ${describe(value)}`)
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value
}

const escapePkPart = (s: string) => s.replace(/[%&=]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)

/**
 * The canonical string form of a primary key. Single values by string form; a composite key as
 * `a=1&b=2` with columns sorted (so column order never matters); a one-column object equals its value.
 */
export function canonicalPk(pk: unknown): string {
  if (pk === undefined || pk === null)
    throw new InvalidDependencyError('a row dependency needs a primary key')
  if (typeof pk !== 'object') return pkValue(pk, 'a primary key')
  if (Array.isArray(pk))
    throw new InvalidDependencyError('a composite primary key is an object of column → value')
  const cols = Object.keys(pk).sort()
  if (cols.length === 0) throw new InvalidDependencyError('a composite primary key needs at least one column')
  if (cols.length === 1)
    return pkValue((pk as Record<string, unknown>)[cols[0]!], `primary key column "${cols[0]}"`)
  return cols
    .map(
      (c) =>
        `${escapePkPart(c)}=${escapePkPart(pkValue((pk as Record<string, unknown>)[c], `primary key column "${c}"`))}`,
    )
    .join('&')
}

const ALL: Dependency = Object.freeze({ [DEP]: true as const, type: 'all' as const })

/** Builders for dependencies. */
export const dep = {
  /** One row of a table. Bumped by changes to that row and by bulk changes to its table. */
  row(table: string, pk: PrimaryKey): Dependency {
    return Object.freeze({
      [DEP]: true as const,
      type: 'row' as const,
      table: tableName(table),
      pk: canonicalPk(pk),
    })
  },
  /** A whole table: bumped by any change to any of its rows. */
  table(table: string): Dependency {
    return Object.freeze({ [DEP]: true as const, type: 'table' as const, table: tableName(table) })
  },
  /** Everything: bumped by any change to any table. */
  all(): Dependency {
    return ALL
  },
  /** A group key: bumped only by `fk.invalidate(dep.tag(name))`. */
  tag(name: string): Dependency {
    if (typeof name !== 'string' || name.length === 0)
      throw new InvalidDependencyError('a tag name must be a non-empty string')
    return Object.freeze({ [DEP]: true as const, type: 'tag' as const, name })
  },
  /**
   * The rows of `table` matching `where`, for a field list declared with `fk.defineScope`.
   * An array value means "any of". Validated against the declared scopes when used.
   */
  scope(table: string | object, where: Readonly<Record<string, unknown>>): Dependency {
    if (typeof table === 'string') tableName(table)
    else if (typeof table !== 'function' && (typeof table !== 'object' || table === null)) {
      throw new InvalidDependencyError('a scope needs a table name or an entity class')
    }
    if (
      typeof where !== 'object' ||
      where === null ||
      Array.isArray(where) ||
      Object.keys(where).length === 0
    ) {
      throw new InvalidDependencyError('a scope needs a non-empty `where` object')
    }
    return Object.freeze({
      [DEP]: true as const,
      type: 'scope' as const,
      target: table,
      where: Object.freeze({ ...where }),
    })
  },
} as const

export const ALKEY = /^(\*#\*|[^#\s]+#[^#\s]+)$/
/** Parses an Alkey string: `'*#*'` → all, `'users#*'` → table, `'users#1'` → row. */
export function parseDependency(text: string): Dependency {
  if (typeof text !== 'string' || !ALKEY.test(text))
    throw new InvalidDependencyError(
      `"${text}" is not a dependency string (expected "table#pk", "table#*" or "*#*")`,
    )
  const at = text.indexOf('#')
  if (at <= 0 || at === text.length - 1) {
    throw new InvalidDependencyError(
      `"${text}" is not a dependency string (expected "table#pk", "table#*" or "*#*")`,
    )
  }
  const table = text.slice(0, at)
  const pk = text.slice(at + 1)
  if (table === '*') {
    if (pk !== '*') throw new InvalidDependencyError(`"${text}": only "*#*" may use "*" as table`)
    return ALL
  }
  return pk === '*' ? dep.table(table) : dep.row(table, pk)
}

/** Accepts a dependency or its string form. */
export function toDependency(value: DependencyLike): Dependency {
  if (typeof value === 'string') return parseDependency(value)
  if (isDependency(value)) return value
  throw new InvalidDependencyError(`expected a dependency or "table#pk" string, got ${describe(value)}`)
}

/** The Alkey-style label of a dependency, for logs and events. */
export function formatDependency(d: Dependency): string {
  switch (d.type) {
    case 'row':
      return `${d.table}#${d.pk}`
    case 'table':
      return `${d.table}#*`
    case 'all':
      return '*#*'
    case 'tag':
      return `tag:${d.name}`
    case 'scope':
      return `scope:${typeof d.target === 'string' ? d.target : ((d.target as { name?: string }).name ?? '?')}${JSON.stringify(d.where)}`
  }
}
