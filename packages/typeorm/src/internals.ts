import { AsyncLocalStorage } from 'node:async_hooks'
import type { DataSource, EntityMetadata, ObjectLiteral, QueryRunner } from 'typeorm'

// Structural views of the TypeORM internals the adapter reads (the same in 0.3 and 1.x), in one
// place so an upgrade that moves them breaks here, visibly.

export interface AliasLike {
  readonly name: string
  readonly hasMetadata: boolean
  readonly metadata: EntityMetadata
  readonly tablePath?: string
}
export interface JoinLike {
  readonly direction: string
  readonly alias: AliasLike
  readonly condition?: string
  readonly isSelected: boolean
  readonly parentAlias?: string
  readonly relation?: EntityMetadata['relations'][number]
}
/** A query builder (`connection` is the data source in 0.3 and 1.x); `expressionMap` fields as read. */
export interface QueryBuilderLike {
  readonly connection: DataSource
  readonly queryRunner?: QueryRunner
  readonly expressionMap: Record<string, any> & {
    mainAlias?: AliasLike
    aliases: AliasLike[]
    joinAttributes: JoinLike[]
    wheres: unknown[]
    selects: { selection: string; aliasName?: string }[]
  }
  getQuery(): string
  getValueSets?(): ObjectLiteral[]
}
export type QB = QueryBuilderLike
export type Method = (this: any, ...args: any[]) => any

/** The query runner whose transaction the calling code runs in (`transaction(fn)`, `runInTransaction`). */
export const transactionContext = new AsyncLocalStorage<QueryRunner>()
/** Set while a write builder runs (its hook reports the rows) or persistence with listeners on (events do). */
export const writeContext = new AsyncLocalStorage<{ persistence?: boolean; queryBuilder?: boolean }>()

const brand = (value: unknown, name: string) =>
  typeof value === 'object' &&
  value !== null &&
  (value as Record<string, unknown>)['@instanceof'] === Symbol.for(name)
export const isFindOperator = (v: unknown): v is { type: string; value: unknown } => brand(v, 'FindOperator')
export const isEntitySchema = (v: unknown): v is { options: { name: string; target?: unknown } } =>
  brand(v, 'EntitySchema')

/** The runner a statement runs on: its own, else the one shared connection of SQLite-style drivers. */
export function runnerOf(ds: DataSource, runner?: QueryRunner): QueryRunner | undefined {
  if (runner || !ds.isInitialized) return runner
  const shared = (ds.driver as { queryRunner?: QueryRunner }).queryRunner
  return typeof shared === 'object' ? shared : undefined
}

/** Wraps `proto[name]`: `fn` runs instead, with the original and the arguments. */
export function around(proto: object, name: string, fn: (this: any, o: Method, a: any[]) => unknown): void {
  const holder = proto as Record<string, unknown>
  const orig = holder[name] as Method
  if (typeof orig === 'function')
    holder[name] = function (this: unknown, ...args: unknown[]) {
      return fn.call(this, orig, args)
    }
}

const MARK = Symbol.for('freshkey.typeorm.patched')
/** True the first time for `target`, across copies of this package (its ESM and CommonJS builds). */
export function firstPatch(target: object): boolean {
  if (Object.hasOwn(target, MARK)) return false
  Object.defineProperty(target, MARK, { value: true })
  return true
}
