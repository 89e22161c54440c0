import type { PrimaryKey } from '@freshkey/core'
import { andConjunctions, type Conjunction, combinations } from '@freshkey/core/adapter'
import { isObject, isPlain, list, pkOf, type Row } from './rows.ts'
import type { ModelInfo } from './schema.ts'

/** What a Prisma `where` filters, in the read tracker's terms. */
export interface Filter {
  /** Disjunction of conjunctions (a superset of the rows the filter matches); undefined: not understood. */
  readonly where: Conjunction[] | undefined
  /** Rows the filter names by primary key (conjunctions that pin the key, taken out of `where`). */
  readonly rows: PrimaryKey[]
  /** Every field the filter reads, understood or not: a change of one may move a row in or out. */
  readonly fields: Set<string>
  /** Relation fields the filter follows (their tables are read in full). */
  readonly relations: Set<string>
}

const MAX = 32
const NOT_UNDERSTOOD = Symbol('not understood')

/**
 * Translates a Prisma `where`. Equalities, `equals`, `in`, `null`, `AND` and small `OR`s are kept;
 * a condition that is not an equality (`not`, `lt`, `contains`, `NOT`, JSON and list filters,
 * field references) is dropped from its conjunction — a wider filter, its fields still watched —
 * and relation filters and unknown keys make the filter not understood (the whole table).
 */
export function translate(model: ModelInfo, where: unknown): Filter {
  const f = { rows: [] as PrimaryKey[], fields: new Set<string>(), relations: new Set<string>() }
  const conjunctions = (w: unknown): Conjunction[] => {
    if (w === undefined || w === null) return [{}]
    if (!isObject(w)) throw NOT_UNDERSTOOD
    let out: Conjunction[] = [{}]
    const and = (next: Conjunction[]) => {
      out = andConjunctions(out, next)
      if (out.length > MAX) throw NOT_UNDERSTOOD
    }
    for (const [key, value] of Object.entries(w)) {
      if (value === undefined) continue
      if (key === 'AND') for (const sub of list(value)) and(conjunctions(sub))
      else if (key === 'OR') and(list(value).flatMap(conjunctions))
      // Dropping a conjunct widens the filter: sound, as long as its fields are watched.
      else if (key === 'NOT') for (const sub of list(value)) conjunctions(sub)
      else if (model.relations.has(key)) f.relations.add(key)
      else if (model.compoundUniques[key] && isObject(value)) and(conjunctions(value))
      else if (!Object.hasOwn(model.columns, key)) throw NOT_UNDERSTOOD
      else {
        f.fields.add(key)
        const eq = equality(model, key, value)
        if (eq !== undefined) and([{ [key]: eq }])
      }
    }
    return out
  }
  try {
    const all = conjunctions(where)
    if (f.relations.size === 0) return { ...f, where: all.filter((c) => !pinned(model, c, f.rows)) }
  } catch (e) {
    if (e !== NOT_UNDERSTOOD) throw e
  }
  return { ...f, where: undefined }
}

/** A conjunction that fixes every primary-key field names its rows: they say it all. */
function pinned(model: ModelInfo, conj: Conjunction, rows: PrimaryKey[]): boolean {
  if (model.primaryKey.length === 0 || !model.primaryKey.every((f) => Object.hasOwn(conj, f))) return false
  const pks = combinations(model.primaryKey, (f) => list(conj[f]), MAX)?.map((c) => pkOf(model, c))
  if (!pks || pks.some((pk) => pk === undefined)) return false
  rows.push(...(pks as PrimaryKey[]))
  return true
}

/** The value (or "any of" array) a field condition pins, or undefined when it is no equality. */
function equality(model: ModelInfo, field: string, value: unknown): unknown {
  const type = model.types[field] ?? ''
  // List and JSON `equals` compare whole values; DateTime strings may carry no zone.
  if (type === 'Json' || type.endsWith('[]')) return undefined
  const ok = (v: unknown) => isPlain(v) && !(type === 'DateTime' && typeof v === 'string')
  if (ok(value) || !isObject(value)) return ok(value) ? value : undefined
  if ('equals' in value) return ok(value.equals) ? value.equals : undefined
  return Array.isArray(value.in) && value.in.every(ok) ? value.in : undefined
}

/** Scalar fields of an `orderBy` or `distinct` argument; relation orderings go to `relations`. */
export function orderFields(model: ModelInfo, orderBy: unknown, fields: Set<string>, relations: Set<string>) {
  for (const item of list(orderBy)) {
    if (typeof item === 'string') fields.add(item)
    else if (isObject(item))
      for (const key of Object.keys(item)) {
        if (model.relations.has(key)) relations.add(key)
        else if (key === '_relevance') for (const f of list((item[key] as Row)?.fields)) fields.add(String(f))
        else fields.add(key)
      }
  }
}
