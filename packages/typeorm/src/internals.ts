import type { DataSource, EntityMetadata, ObjectLiteral, QueryRunner } from 'typeorm'

// Structural views of TypeORM internals the adapter reads. Kept in one place so a TypeORM upgrade
// that moves them breaks here, visibly.

/** `qb.expressionMap` of a write query builder. */
export interface ExpressionMap {
  mainAlias?: { hasMetadata: boolean; metadata: EntityMetadata; tablePath?: string; name: string }
  queryType: string
  valuesSet?: ObjectLiteral | ObjectLiteral[]
  onUpdate?: { conflict?: string | string[]; columns?: string[]; overwrite?: string[] }
  onIgnore?: boolean
  insertFromSelect?: unknown
  callListeners: boolean
}

/** A write query builder as the hooks see it. */
export interface WriteQueryBuilder {
  readonly dataSource: DataSource
  readonly queryRunner?: QueryRunner
  expressionMap: ExpressionMap
  obtainQueryRunner(): QueryRunner
  getValueSets?(): ObjectLiteral[]
}

/** What an insert's `execute()` resolves to. */
export interface InsertResultLike {
  identifiers?: (ObjectLiteral | undefined)[]
}

/** A FindOperator (`Equal`, `In`, ...), detected without importing TypeORM's class. */
export interface FindOperatorLike {
  readonly type: string
  readonly value: unknown
}

const FIND_OPERATOR = Symbol.for('FindOperator')
const ENTITY_SCHEMA = Symbol.for('EntitySchema')

export function isFindOperator(value: unknown): value is FindOperatorLike {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<string, unknown>)['@instanceof'] === FIND_OPERATOR
  )
}

export function isEntitySchema(value: unknown): value is { options: { name: string; target?: unknown } } {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<string, unknown>)['@instanceof'] === ENTITY_SCHEMA
  )
}

/** The protected `transactionDepth` of a query runner, when the driver keeps one. */
export function depthOf(runner: QueryRunner): number | undefined {
  const depth = (runner as unknown as { transactionDepth?: unknown }).transactionDepth
  return typeof depth === 'number' ? depth : undefined
}

/** Drivers where every operation shares one query runner (one connection). */
export function sharedRunner(dataSource: DataSource): QueryRunner | undefined {
  const runner = (dataSource.driver as unknown as { queryRunner?: QueryRunner }).queryRunner
  return runner && typeof runner === 'object' ? runner : undefined
}
