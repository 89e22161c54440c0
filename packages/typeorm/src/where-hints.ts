import type { EntityMetadata } from 'typeorm'
import { and, EVERY, type Filter, idsFilter, type Nulls, or, translate } from './filters.ts'
import { dataSourceOf, type Method, patch, type QueryBuilderLike } from './internals.ts'

// The WHERE of a query builder as equalities, tracked as it is built: `where*()` and (select)
// `setFindOptions()`. A hint is trusted only while the builder holds as many WHERE parts as when
// it was taken, so a method not tracked here (`whereExists`, `Brackets` ...) makes it unknown.

const HINT = Symbol('freshkey.where')
interface Hint {
  readonly filter: Filter
  readonly count: number
}
type Hinted = QueryBuilderLike & { [HINT]?: Hint }

const metadataOf = (qb: QueryBuilderLike): EntityMetadata | undefined => {
  const alias = qb.expressionMap.mainAlias
  return alias?.hasMetadata ? alias.metadata : undefined
}

/** The filter of a builder's WHERE: `[{}]` without one, undefined when it is not understood. */
export function filterOf(qb: QueryBuilderLike): Filter {
  const count = qb.expressionMap.wheres.length
  if (count === 0) return EVERY
  const hint = (qb as Hinted)[HINT]
  return hint && hint.count === count ? hint.filter : undefined
}

const NONE = Symbol('none')
const prior = (qb: QueryBuilderLike): Filter | typeof NONE =>
  qb.expressionMap.wheres.length === 0 ? NONE : filterOf(qb)
const set = (qb: QueryBuilderLike, filter: Filter) => {
  ;(qb as Hinted)[HINT] = { filter, count: qb.expressionMap.wheres.length }
}

function objectFilter(qb: QueryBuilderLike, where: unknown, nulls: Nulls): Filter {
  const md = metadataOf(qb)
  return md && typeof where === 'object' && where !== null ? translate(md, where, nulls) : undefined
}
const ids = (qb: QueryBuilderLike, value: unknown): Filter => {
  const md = metadataOf(qb)
  return md ? idsFilter(md, value) : undefined
}

function track(
  proto: object,
  name: string,
  of: (qb: QueryBuilderLike, arg: unknown) => Filter,
  join?: (a: Filter, b: Filter) => Filter,
) {
  patch(
    proto,
    name,
    (orig: Method) =>
      function (this: QueryBuilderLike, ...args: unknown[]) {
        const before = join ? prior(this) : NONE
        const result = orig.apply(this, args)
        const next = of(this, args[0])
        set(this, before === NONE || !join ? next : join(before, next))
        return result
      },
  )
}

/** Tracks the WHERE of a builder prototype (once per TypeORM copy). */
export function trackWheres(proto: object, select: boolean): void {
  const where = (qb: QueryBuilderLike, w: unknown) => objectFilter(qb, w, 'unknown')
  track(proto, 'where', where)
  track(proto, 'andWhere', where, and)
  track(proto, 'orWhere', where, or)
  track(proto, 'whereInIds', ids)
  track(proto, 'andWhereInIds', ids, and)
  track(proto, 'orWhereInIds', ids, or)
  if (!select) return
  track(
    proto,
    'setFindOptions',
    (qb, options) => {
      const w = (options as { where?: unknown } | undefined)?.where
      if (w === undefined) return EVERY
      const nulls = (dataSourceOf(qb).options as { invalidWhereValuesBehavior?: { null?: string } })
        .invalidWhereValuesBehavior?.null
      return objectFilter(qb, w, nulls === 'sql-null' ? 'null' : 'skip')
    },
    and,
  )
  patch(
    proto,
    'clone',
    (orig: Method) =>
      function (this: Hinted) {
        const copy = orig.call(this) as Hinted
        if (this[HINT]) copy[HINT] = this[HINT]
        return copy
      },
  )
}
