import { AsyncLocalStorage } from 'node:async_hooks'
import type { DataSource, EntityMetadata, ObjectLiteral, QueryRunner } from 'typeorm'

// Structural views of the TypeORM internals the adapter reads (the same in 0.3 and 1.x), kept in
// one place so an upgrade that moves them breaks here, visibly.

export interface AliasLike {
  readonly name: string
  readonly type: string
  readonly hasMetadata: boolean
  readonly metadata: EntityMetadata
  readonly tablePath?: string
  readonly subQuery?: string
}

export interface JoinLike {
  readonly direction: string
  readonly alias: AliasLike
  readonly condition?: string
  readonly isSelected: boolean
  readonly parentAlias?: string
  readonly relation?: EntityMetadata['relations'][number]
}

/** `qb.expressionMap`. */
export interface ExpressionMap {
  mainAlias?: AliasLike
  aliases: AliasLike[]
  joinAttributes: JoinLike[]
  wheres: unknown[]
  selects: { selection: string; aliasName?: string }[]
  allOrderBys: Record<string, unknown>
  withDeleted: boolean
  queryType: string
  valuesSet?: ObjectLiteral | ObjectLiteral[]
  onUpdate?: { conflict?: string | string[]; columns?: string[]; overwrite?: string[] }
  insertFromSelect?: unknown
  callListeners: boolean
  groupBys?: string[]
  havings?: unknown[]
  commonTableExpressions?: unknown[]
  relationIdAttributes?: unknown[]
  relationCountAttributes?: unknown[]
}

/** A query builder as the hooks see it (`connection` in 0.3, `dataSource` in 1.x; both in 1.x). */
export interface QueryBuilderLike {
  readonly connection: DataSource
  readonly queryRunner?: QueryRunner
  expressionMap: ExpressionMap
  findOptions?: { where?: unknown; order?: unknown }
  getQuery(): string
  getValueSets?(): ObjectLiteral[]
}

export type Method = (this: any, ...args: any[]) => any

/** The query runner whose transaction the calling code runs in (`transaction(fn)`, `runInTransaction`). */
export const transactionContext = new AsyncLocalStorage<QueryRunner>()

/** Who is writing, so each write is recorded once. */
export interface WriteContext {
  /** Inside `save/remove/softRemove/recover` with listeners on: entity events report the rows. */
  readonly persistence?: boolean
  /** Inside a write query builder's `execute()`: its hook reports the rows, its events are ignored. */
  readonly queryBuilder?: boolean
}
export const writeContext = new AsyncLocalStorage<WriteContext>()

const FIND_OPERATOR = Symbol.for('FindOperator')
const ENTITY_SCHEMA = Symbol.for('EntitySchema')
const BRAND = '@instanceof'

export function isFindOperator(value: unknown): value is { readonly type: string; readonly value: unknown } {
  return (
    typeof value === 'object' && value !== null && (value as Record<string, unknown>)[BRAND] === FIND_OPERATOR
  )
}

export function isEntitySchema(value: unknown): value is { options: { name: string; target?: unknown } } {
  return (
    typeof value === 'object' && value !== null && (value as Record<string, unknown>)[BRAND] === ENTITY_SCHEMA
  )
}

/** Drivers where every operation shares one query runner (one connection: sql.js, SQLite). */
export function sharedRunner(dataSource: DataSource): QueryRunner | undefined {
  if (!dataSource.isInitialized) return undefined
  const runner = (dataSource.driver as unknown as { queryRunner?: QueryRunner }).queryRunner
  return runner && typeof runner === 'object' ? runner : undefined
}

/** The runner a statement ran on: its own, or the one shared connection of SQLite-style drivers. */
export function runnerOf(dataSource: DataSource, runner: QueryRunner | undefined): QueryRunner | undefined {
  return runner ?? sharedRunner(dataSource)
}

/** The data source of a query builder or manager (0.3 names it `connection`). */
export function dataSourceOf(holder: { connection?: DataSource; dataSource?: DataSource }): DataSource {
  return (holder.dataSource ?? holder.connection)!
}

/** Patches `name` on `proto` once per TypeORM copy; `make` gets the original. */
export function patch(proto: object, name: string, make: (orig: Method) => Method): void {
  const holder = proto as Record<string, unknown>
  const orig = holder[name]
  if (typeof orig === 'function') holder[name] = make(orig as Method)
}

/** The prototype that owns `name` (the class that defines it), walking up from `proto`. */
export function ownerOf(proto: object, name: string): object | undefined {
  for (let p: object | null = proto; p && p !== Object.prototype; p = Object.getPrototypeOf(p))
    if (Object.hasOwn(p, name)) return p
  return undefined
}
