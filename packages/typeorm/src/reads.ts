import { AsyncLocalStorage } from 'node:async_hooks'
import type { PrimaryKey, PrimaryKeyValue } from '@freshkey/core'
import { type ReadFrame, type ReadRecord, sqlTablesRead } from '@freshkey/core/adapter'
import type { EntityMetadata, ObjectLiteral, QueryRunner } from 'typeorm'
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js'
import { bindingsOf, type TypeORMBinding } from './binding.ts'
import { type Filter, keysOf } from './filters.ts'
import {
  type AliasLike,
  dataSourceOf,
  type ExpressionMap,
  type JoinLike,
  type Method,
  patch,
  type QueryBuilderLike,
} from './internals.ts'
import { keyValue } from './row-image.ts'
import { filterOf, trackWheres } from './where-hints.ts'

// Reads: every SELECT a query builder sends goes through `loadRawResults` (entities, raw, counts,
// pagination, relation loaders, TypeORM's result cache). Inside a read frame each one fences its
// tables first and then reports what it returned: the rows (primary keys from the raw columns),
// the filter (equalities from find options / object wheres), the order fields; joined relations
// become lookups (to-one) or filters on the child's foreign key (to-many). What is not understood
// makes the read depend on its whole tables.

/** What one query reads: its tables (fenced before it runs) and, from its raw rows, the records. */
export interface Shape {
  readonly tables: readonly string[]
  records(raw: readonly ObjectLiteral[]): ReadRecord[]
}

interface ReadContext {
  readonly runner: QueryRunner
  readonly binding: TypeORMBinding
  readonly qb?: QueryBuilderLike
  /** The builder whose `getMany()` runs this query (its pagination query has no metadata of its own). */
  readonly outer?: QueryBuilderLike
  shape?: Shape
}

/** The query being read, for the transaction source and the query result cache. */
export const readContext = new AsyncLocalStorage<ReadContext>()
export const FRESHKEY_CACHE = Symbol.for('freshkey.typeorm.resultCache')

type Row = ObjectLiteral
type Reader = (raw: readonly Row[], out: ReadRecord[]) => void

const SUBQUERY = /\bselect\b/i
const PARSED = new Map<string, readonly string[]>()

/** Tables a SQL text reads, among the known ones (every known one when it names none). LRU by text. */
export function parsedTables(binding: TypeORMBinding, sql: string): readonly string[] {
  let tables = PARSED.get(sql)
  if (tables) {
    PARSED.delete(sql)
  } else {
    const known = binding.graph.tables
    const found = sqlTablesRead(sql, known).filter((t) => known.has(t))
    tables = (found.length > 0 ? found : [...known]).flatMap((t) => binding.tablesOf(t))
    if (PARSED.size >= 1000) PARSED.delete(PARSED.keys().next().value as string)
  }
  PARSED.set(sql, tables)
  return tables
}

function hydrate(ds: QueryBuilderLike['connection'], column: ColumnMetadata, value: unknown): unknown {
  if (value === null || value === undefined) return undefined
  let v = ds.driver.prepareHydratedValue(value, column)
  const t = column.transformer
  if (t) v = Array.isArray(t) ? t.reduceRight((x, tr) => tr.from(x), v) : t.from(v)
  return v
}

function columnAlias(qb: QueryBuilderLike, alias: string, column: ColumnMetadata): string | undefined {
  const name = `${alias}_${column.databaseName}`
  const max = (qb.connection.driver as { maxAliasLength?: number }).maxAliasLength
  return max && name.length > max ? undefined : name
}

/** Reads the key of `md` from raw rows under `alias`; undefined when a column name is hashed by the driver. */
function keyReader(qb: QueryBuilderLike, alias: string, md: EntityMetadata) {
  const cols = md.primaryColumns
  const names = cols.map((c) => columnAlias(qb, alias, c))
  if (cols.length === 0 || names.some((n) => n === undefined)) return undefined
  const ds = qb.connection
  return {
    present: (row: Row) => names.every((n) => n! in row),
    key(row: Row): PrimaryKey | undefined {
      if (cols.length === 1) return keyValue(hydrate(ds, cols[0]!, row[names[0]!]))
      const pk: Record<string, PrimaryKeyValue> = {}
      for (let i = 0; i < cols.length; i++) {
        const v = keyValue(hydrate(ds, cols[i]!, row[names[i]!]))
        if (v === undefined) return undefined
        pk[cols[i]!.propertyPath] = v
      }
      return pk
    },
  }
}

/** Distinct keys of the rows (null rows of a LEFT JOIN skipped); undefined when a returned row has no readable key. */
function keysIn(
  raw: readonly Row[],
  reader: NonNullable<ReturnType<typeof keyReader>>,
  nullable: boolean,
): PrimaryKey[] | undefined {
  const out: PrimaryKey[] = []
  const seen = new Set<unknown>()
  for (const row of raw) {
    const k = reader.key(row)
    if (k === undefined) {
      if (nullable) continue
      return undefined
    }
    const id = typeof k === 'object' ? JSON.stringify(k) : k
    if (!seen.has(id)) {
      seen.add(id)
      out.push(k)
    }
  }
  return out
}

/** Values a foreign key of the children follows, from the parents' raw columns, as a filter on the children. */
function parentFilter(
  qb: QueryBuilderLike,
  parent: string,
  pairs: readonly (readonly [string, ColumnMetadata])[],
) {
  const names = pairs.map(([, ref]) => columnAlias(qb, parent, ref))
  if (pairs.length === 0 || names.some((n) => n === undefined)) return undefined
  return (raw: readonly Row[]): Filter => {
    const ds = qb.connection
    if (pairs.length === 1) {
      const values = new Set<unknown>()
      for (const row of raw) {
        const v = hydrate(ds, pairs[0]![1], row[names[0]!])
        if (v !== undefined) values.add(v)
      }
      return [{ [pairs[0]![0]]: [...values] }]
    }
    const out: Record<string, unknown>[] = []
    for (const row of raw) {
      const conj: Record<string, unknown> = {}
      pairs.forEach(([path, ref], i) => {
        conj[path] = hydrate(ds, ref, row[names[i]!]) ?? null
      })
      out.push(conj)
    }
    return out
  }
}

const limited = (em: ExpressionMap & Record<string, unknown>) =>
  Boolean(em.take || em.limit || em.skip || em.offset)

/**
 * Fields whose change may reorder this alias's rows into or out of the result: the order fields
 * when the result is complete or totally ordered (by its key); any field (`'*'`) for a page cut
 * from an order that leaves ties, or from no order at all.
 */
function orderWatch(em: ExpressionMap, alias: string, md: EntityMetadata, main: boolean): string[] | '*' {
  const out: string[] = []
  for (const key of Object.keys(em.allOrderBys)) {
    const dot = key.indexOf('.')
    if (dot < 0) return '*'
    const owner = key.slice(0, dot)
    if (owner === alias) {
      const path = key.slice(dot + 1)
      if (!md.findColumnWithPropertyPath(path)) return '*'
      out.push(path)
    } else if (!em.aliases.some((a) => a.name === owner)) return '*'
  }
  if (main && limited(em as never) && !md.primaryColumns.every((c) => out.includes(c.propertyPath)))
    return '*'
  return out
}

function isCount(em: ExpressionMap): boolean {
  const s = em.selects
  return s.length === 1 && s[0]!.aliasName === 'cnt' && /^COUNT\(/i.test(s[0]!.selection)
}

function relationOf(join: JoinLike): JoinLike['relation'] {
  try {
    return join.relation
  } catch {
    return undefined
  }
}

function mainReader(
  qb: QueryBuilderLike,
  alias: AliasLike,
  filter: Filter,
  outer: QueryBuilderLike | undefined,
): Reader {
  const md = alias.metadata
  const em = (outer ?? qb).expressionMap
  const reader = keyReader(qb, outer ? `ids_${alias.name}` : alias.name, md)
  const asked = keysOf(md, filter)
  const watch = orderWatch(em, alias.name, md, true)
  const count = isCount(qb.expressionMap)
  const table = md.tableName
  return (raw, out) => {
    const rows =
      reader && (raw.length === 0 || reader.present(raw[0]!)) ? keysIn(raw, reader, false) : undefined
    if (asked) out.push({ table, rows: rows ? [...asked, ...rows] : asked })
    else if (rows) out.push({ table, rows, where: filter!, watch })
    else out.push({ table, where: filter!, watch: count ? [] : '*', enumerates: false })
  }
}

function joinReader(
  qb: QueryBuilderLike,
  join: JoinLike,
  relation: NonNullable<JoinLike['relation']>,
  parent: AliasLike,
): Reader | undefined {
  const child = join.alias.metadata
  const reader = keyReader(qb, join.alias.name, child)
  if (!reader) return undefined
  const table = child.tableName
  const childRows = (raw: readonly Row[]) => keysIn(raw, reader, true) ?? []
  if (relation.isManyToOne || relation.isOneToOneOwner) {
    // The keys the parents point at, found or not (a LEFT JOIN drops a soft-deleted row).
    const cols = relation.joinColumns
    const names = cols.map((c) => columnAlias(qb, parent.name, c))
    const byKey =
      cols.length === child.primaryColumns.length && cols.every((c) => c.referencedColumn?.isPrimary)
    const asked = (row: Row): PrimaryKey | undefined => {
      const values = cols.map((c, i) => keyValue(hydrate(qb.connection, c, row[names[i]!])))
      if (values.some((v) => v === undefined)) return undefined
      return cols.length === 1
        ? values[0]
        : (Object.fromEntries(
            cols.map((c, i) => [c.referencedColumn!.propertyPath, values[i]]),
          ) as PrimaryKey)
    }
    const readable = byKey && names.every((n) => n !== undefined)
    return (raw, out) => {
      const rows = childRows(raw)
      if (readable)
        for (const row of raw)
          if ((names as string[]).every((n) => n in row)) {
            const k = asked(row)
            if (k !== undefined) rows.push(k)
          }
      out.push({ table, rows })
    }
  }
  if (relation.isManyToMany) {
    const junction = relation.junctionEntityMetadata
    const cols = relation.isOwning ? junction?.ownerColumns : junction?.inverseColumns
    const of =
      cols &&
      parentFilter(
        qb,
        parent.name,
        cols.map((c) => [c.propertyPath, c.referencedColumn!] as const),
      )
    if (!junction || !of) return undefined
    return (raw, out) => {
      out.push(
        { table: junction.tableName, where: of(raw)!, watch: [], enumerates: false },
        { table, rows: childRows(raw) },
      )
    }
  }
  const inverse = relation.inverseRelation
  const of =
    inverse &&
    parentFilter(
      qb,
      parent.name,
      inverse.joinColumns.map((c) => [c.propertyPath, c.referencedColumn!] as const),
    )
  if (!of) return undefined
  const watch = orderWatch(qb.expressionMap, join.alias.name, child, false)
  return (raw, out) => void out.push({ table, rows: childRows(raw), where: of(raw)!, watch })
}

/** The shape of a select query builder's query; `outer` for the pagination query of a `getMany()` with joins. */
export function shapeOf(binding: TypeORMBinding, qb: QueryBuilderLike, outer?: QueryBuilderLike): Shape {
  const em = qb.expressionMap
  const main = em.mainAlias
  if (outer && main && !main.hasMetadata && main.name === 'distinctAlias') {
    const base = shapeOf(binding, outer)
    const alias = outer.expressionMap.mainAlias!
    const filter = filterOf(outer)
    const read = filter && alias.hasMetadata ? mainReader(qb, alias, filter, outer) : undefined
    return {
      tables: base.tables,
      records: (raw) => {
        const whole = base.records([]).filter((r) => r.whole)
        if (read && !whole.some((r) => r.table === alias.metadata.tableName)) read(raw, whole)
        return whole
      },
    }
  }
  const tables = new Set<string>()
  const whole = new Set<string>()
  const readers: Reader[] = []
  let parse = Boolean(em.groupBys?.length || em.havings?.length || em.commonTableExpressions?.length)
  if (em.selects.some((s) => typeof s.selection === 'string' && SUBQUERY.test(s.selection))) parse = true
  let everything = parse
  const add = (md: EntityMetadata, alone: boolean) => {
    const deps = binding.tablesOf(md.tableName)
    for (const t of deps) tables.add(t)
    const view = md.tableType === 'view'
    if (view || alone) for (const t of deps) whole.add(t)
    return !view && !alone
  }
  if (!main?.hasMetadata) parse = everything = true
  else {
    const filter = filterOf(qb)
    if (!filter) parse = true
    if (add(main.metadata, !filter)) readers.push(mainReader(qb, main, filter, undefined))
  }
  for (const join of em.joinAttributes) {
    if (!join.alias.hasMetadata) {
      parse = everything = true
      continue
    }
    const relation = relationOf(join)
    const junction = relation?.isManyToMany ? relation.junctionEntityMetadata?.tableName : undefined
    if (junction) tables.add(junction)
    if (join.direction !== 'LEFT') everything = true
    const parent = join.parentAlias
      ? em.aliases.find((a) => a.name === join.parentAlias && a.hasMetadata)
      : undefined
    // The condition TypeORM adds itself for soft deletes is no filter to us: a soft delete is a delete.
    const softDelete = join.alias.metadata.deleteDateColumn
    const plain =
      !join.condition ||
      (softDelete && join.condition === `${join.alias.name}.${softDelete.propertyName} IS NULL`)
    const read =
      relation && parent && join.isSelected && plain ? joinReader(qb, join, relation, parent) : undefined
    if (add(join.alias.metadata, !read) && read) readers.push(read)
    else if (junction) whole.add(junction)
  }
  if (parse)
    for (const t of parsedTables(binding, qb.getQuery())) {
      tables.add(t)
      whole.add(t)
    }
  if (everything) for (const t of tables) whole.add(t)
  const list = [...tables]
  return {
    tables: list,
    records(raw) {
      const out: ReadRecord[] = [...whole].map((table) => ({ table, whole: true }))
      const own: ReadRecord[] = []
      for (const read of readers) read(raw, own)
      for (const r of own) if (!whole.has(r.table)) out.push(r)
      return out
    },
  }
}

/** The shape of the query in a read context, computed once. */
export function shapeIn(ctx: ReadContext): Shape {
  ctx.shape ??= shapeOf(ctx.binding, ctx.qb!, ctx.outer)
  return ctx.shape
}

function framesOf(bindings: readonly TypeORMBinding[]): ReadFrame[] | undefined {
  const frames = bindings.map((b) => b.frame()).filter((f) => f !== undefined)
  return frames.length > 0 ? frames : undefined
}

async function fence(frames: readonly ReadFrame[], tables: readonly string[]): Promise<void> {
  const waits: Promise<void>[] = []
  for (const f of frames) {
    const p = f.beforeQuery(tables)
    if (p) waits.push(p)
  }
  if (waits.length > 0) await Promise.all(waits)
}

async function tracked(ctx: ReadContext, frames: readonly ReadFrame[], load: Method): Promise<Row[]> {
  let shape: Shape | undefined
  try {
    shape = shapeIn(ctx)
    await fence(frames, shape.tables)
  } catch (error) {
    ctx.binding.report('read', error)
    for (const f of frames) f.unsafe = true
    shape = undefined
  }
  const raw: Row[] = await readContext.run(ctx, () => load.call(ctx.qb!, ctx.runner))
  if (shape) {
    try {
      const records = shape.records(raw)
      for (const f of frames) for (const r of records) f.read(r)
    } catch (error) {
      ctx.binding.report('read', error)
      for (const f of frames) f.unsafe = true
    }
  }
  return raw
}

/** A raw `query()` inside a read frame depends on the whole tables it names. Returns what to call after it ran. */
export async function rawRead(
  bindings: readonly TypeORMBinding[],
  sql: string,
): Promise<(() => void) | undefined> {
  const frames = framesOf(bindings)
  if (!frames) return undefined
  const tables = parsedTables(bindings[0]!, sql)
  await fence(frames, tables)
  return () => {
    for (const f of frames) for (const table of tables) f.read({ table, whole: true })
  }
}

const patched = new WeakSet<object>()
const cachedBy = (qb: QueryBuilderLike) =>
  (dataSourceOf(qb).queryResultCache as { [FRESHKEY_CACHE]?: boolean } | undefined)?.[FRESHKEY_CACHE] === true
const watched = (qb: QueryBuilderLike, bindings: readonly TypeORMBinding[]) =>
  bindings.length > 0 && (cachedBy(qb) || framesOf(bindings) !== undefined)

/** Patches the select query builder of one TypeORM copy (once). */
export function installReadHooks(proto: object): void {
  if (patched.has(proto)) return
  patched.add(proto)
  trackWheres(proto, true)
  patch(
    proto,
    'executeEntitiesAndRawResults',
    (orig) =>
      function (this: QueryBuilderLike, runner: QueryRunner) {
        const bindings = bindingsOf(dataSourceOf(this))
        if (!watched(this, bindings)) return orig.call(this, runner)
        return readContext.run({ runner, binding: bindings[0]!, outer: this }, () => orig.call(this, runner))
      },
  )
  patch(
    proto,
    'loadRawResults',
    (load) =>
      function (this: QueryBuilderLike, runner: QueryRunner) {
        const bindings = bindingsOf(dataSourceOf(this))
        if (bindings.length === 0) return load.call(this, runner)
        const frames = framesOf(bindings)
        if (!frames && !cachedBy(this)) return load.call(this, runner)
        const parent = readContext.getStore()
        const ctx: ReadContext = {
          runner,
          binding: bindings[0]!,
          qb: this,
          ...(parent?.outer ? { outer: parent.outer } : {}),
        }
        return frames ? tracked(ctx, frames, load) : readContext.run(ctx, () => load.call(this, runner))
      },
  )
  // A stream's rows are never seen: what a loader streams is served, never stored.
  patch(
    proto,
    'stream',
    (orig) =>
      function (this: QueryBuilderLike, ...args: unknown[]) {
        for (const f of framesOf(bindingsOf(dataSourceOf(this))) ?? []) f.unsafe = true
        return orig.apply(this, args)
      },
  )
}
