import { AsyncLocalStorage } from 'node:async_hooks'
import type { PrimaryKey } from '@freshkey/core'
import {
  fenceReads,
  framesOf,
  knownTables,
  markUnsafe,
  type ReadFrame,
  type ReadRecord,
  referencingFilter,
  reportReads,
  StatementCache,
  sqlTablesRead,
  wholeTables,
} from '@freshkey/core/adapter'
import type { EntityMetadata, ObjectLiteral, QueryRunner } from 'typeorm'
import { bindingsOf, type TypeORMBinding } from './binding.ts'
import { type Filter, filterOf, keysOf, trackWheres } from './filters.ts'
import { type AliasLike, around, firstPatch, type JoinLike, type Method, type QB } from './internals.ts'
import { keyValue } from './row-image.ts'

// Every SELECT of a query builder passes `loadRawResults`. In a read frame it fences its tables, then
// reports its rows (keys from the raw columns), filter and order fields; joined relations become
// lookups (to-one) or filters on the children's foreign key (to-many); the rest, whole tables.

/** What one query reads: its tables (fenced before it runs) and, from its raw rows, the records. */
export interface Shape {
  readonly tables: readonly string[]
  records(raw: readonly ObjectLiteral[]): ReadRecord[]
}
interface ReadContext {
  readonly runner: QueryRunner
  readonly binding: TypeORMBinding
  readonly qb?: QB
  /** The builder whose `getMany()` runs this query (its pagination query has no metadata of its own). */
  readonly outer?: QB
  shape?: Shape
}
type Row = ObjectLiteral
type Reader = (raw: readonly Row[], out: ReadRecord[]) => void
type Column = EntityMetadata['columns'][number]

/** The query being read, for the transaction source and the query result cache. */
export const readContext = new AsyncLocalStorage<ReadContext>()
export const FRESHKEY_CACHE = Symbol.for('freshkey.typeorm.resultCache')
/** Per schema graph (a binding makes a new one, with its views, on every metadata build). */
const PARSED = new WeakMap<object, StatementCache<readonly string[]>>()

/**
 * Tables a SQL text reads, views read through their tables: the kit's raw-read rule (every table
 * when it names none, or one freshkey does not know). Parsed once per text and schema.
 */
export function parsedTables(binding: TypeORMBinding, sql: string): readonly string[] {
  const parsed = PARSED.get(binding.graph) ?? new StatementCache()
  PARSED.set(binding.graph, parsed)
  return parsed.get(sql, () => [
    ...new Set(
      knownTables(
        binding.graph,
        sqlTablesRead(sql, binding.graph.tables).flatMap((t) => binding.tablesOf(t)),
      ),
    ),
  ])
}

function hydrate(qb: QB, column: Column, value: unknown): unknown {
  if (value === null || value === undefined) return undefined
  const v = qb.connection.driver.prepareHydratedValue(value, column)
  const t = column.transformer
  return t ? [t].flat().reduceRight((x, tr) => tr.from(x), v) : v
}

/** The raw column of `alias.column`; undefined where the driver hashes a long alias. */
function columnAlias(qb: QB, alias: string, column: Column): string | undefined {
  const max = (qb.connection.driver as { maxAliasLength?: number }).maxAliasLength
  const name = `${alias}_${column.databaseName}`
  return max && name.length > max ? undefined : name
}

/**
 * Reads a key from raw rows: the values of `cols` under `alias`, named by `paths` in a composite
 * key. The key of an entity by default; a foreign key read as the key it points at.
 */
function keyReader(qb: QB, alias: string, cols: readonly Column[], paths = cols.map((c) => c.propertyPath)) {
  const names = cols.map((c) => columnAlias(qb, alias, c))
  if (cols.length === 0 || names.includes(undefined)) return undefined
  const present = (row: Row) => names.every((n) => n! in row)
  const key = (row: Row): PrimaryKey | undefined => {
    const values = cols.map((c, i) => keyValue(hydrate(qb, c, row[names[i]!])))
    if (values.includes(undefined)) return undefined
    return cols.length === 1 ? values[0] : Object.fromEntries(paths.map((p, i) => [p, values[i]!]))
  }
  /** The keys of the rows (rows without one skipped when `nullable`, a LEFT JOIN's; else undefined). */
  const all = (raw: readonly Row[], nullable: boolean): PrimaryKey[] | undefined => {
    const keys = raw.map((row) => (present(row) ? key(row) : undefined))
    return nullable || !keys.includes(undefined) ? keys.filter((k) => k !== undefined) : undefined
  }
  return { present, all }
}

/** The values the children's foreign key follows, from the parents' raw columns, as a filter on the children. */
function parentFilter(qb: QB, parent: string, fk: readonly Column[]) {
  const names = fk.map((c) => columnAlias(qb, parent, c.referencedColumn!))
  if (fk.length === 0 || names.includes(undefined)) return undefined
  const fields = fk.map((c) => c.propertyPath)
  return (raw: readonly Row[]): Filter =>
    referencingFilter(
      raw.map((row) => fk.map((c, i) => hydrate(qb, c.referencedColumn!, row[names[i]!]) ?? null)),
      fields,
    )
}

/**
 * Fields whose change may move rows of `alias` into or out of the result: its order fields (`'*'`
 * when one is not a column of `alias`). A page cut (`take`/`skip`) from an order that leaves ties
 * needs nothing more: which of the tied rows the database returns is unspecified, so a cached
 * page whose members and order values are unchanged is still an answer it could give (as on the
 * other adapters).
 */
function orderWatch(qb: QB, alias: string, md: EntityMetadata): string[] | '*' {
  const em = qb.expressionMap
  const out: string[] = []
  for (const key of Object.keys(em.allOrderBys)) {
    const dot = key.indexOf('.')
    const owner = key.slice(0, Math.max(dot, 0))
    if (dot > 0 && owner === alias && md.findColumnWithPropertyPath(key.slice(dot + 1)))
      out.push(key.slice(dot + 1))
    else if (dot <= 0 || owner === alias || !em.aliases.some((a) => a.name === owner)) return '*'
  }
  return out
}

function mainReader(qb: QB, alias: AliasLike, filter: Filter, outer?: QB): Reader {
  const md = alias.metadata
  const reader = keyReader(qb, outer ? `ids_${alias.name}` : alias.name, md.primaryColumns)
  const asked = keysOf(md, filter)
  const watch = orderWatch(outer ?? qb, alias.name, md)
  const s = qb.expressionMap.selects
  const count = s.length === 1 && s[0]!.aliasName === 'cnt' && /^COUNT\(/i.test(s[0]!.selection)
  const table = md.tableName
  return (raw, out) => {
    const rows = reader && (raw.length === 0 || reader.present(raw[0]!)) ? reader.all(raw, false) : undefined
    // A lookup by key depends on the keys asked, found or not; a result without its keys (a count) on its filter.
    if (asked) out.push({ table, rows: [...asked, ...(rows ?? [])] })
    else if (rows) out.push({ table, rows, where: filter!, watch })
    else out.push({ table, where: filter!, watch: count ? [] : '*', enumerates: false })
  }
}

function joinReader(qb: QB, join: JoinLike, relation: NonNullable<JoinLike['relation']>, parent: string) {
  const child = join.alias.metadata
  const reader = keyReader(qb, join.alias.name, child.primaryColumns)
  if (!reader) return undefined
  const table = child.tableName
  if (relation.isManyToOne || relation.isOneToOneOwner) {
    // The keys the parents point at, found or not (a LEFT JOIN drops a soft-deleted row).
    const cols = relation.joinColumns
    const refs = cols.map((c) => c.referencedColumn!.propertyPath)
    const byKey =
      cols.length === child.primaryColumns.length && cols.every((c) => c.referencedColumn?.isPrimary)
    const asked = byKey ? keyReader(qb, parent, cols, refs) : undefined
    return (raw: readonly Row[], out: ReadRecord[]) =>
      void out.push({ table, rows: [...reader.all(raw, true)!, ...(asked?.all(raw, true) ?? [])] })
  }
  const junction = relation.isManyToMany ? relation.junctionEntityMetadata : undefined
  const side = relation.isOwning ? 'ownerColumns' : 'inverseColumns'
  const fk = junction ? junction[side] : relation.inverseRelation?.joinColumns
  const of = fk && parentFilter(qb, parent, fk)
  if (!of) return undefined
  const watch = orderWatch(qb, join.alias.name, child)
  return (raw: readonly Row[], out: ReadRecord[]) => {
    if (!junction) return void out.push({ table, rows: reader.all(raw, true)!, where: of(raw)!, watch })
    out.push(
      { table: junction.tableName, where: of(raw)!, watch: [], enumerates: false },
      { table, rows: reader.all(raw, true)! },
    )
  }
}

/**
 * Teaches `binding` the scheme fields of the rows of `alias` a read returned, valued as an
 * update's RETURNING row gives them, so an update of such a row fences its conditions at once.
 * Nothing for a table no scheme filters, or when a field or the key is not selected.
 */
function imageReader(binding: TypeORMBinding, qb: QB, alias: AliasLike, read: Reader): Reader {
  const md = alias.metadata
  const fields = [...binding.schemeFields(md.tableName)]
  const cols = fields.map((f) => md.findColumnWithPropertyPath(f))
  const key = keyReader(qb, alias.name, md.primaryColumns)
  const names = cols.map((c) => c && columnAlias(qb, alias.name, c))
  if (fields.length === 0 || !key || names.includes(undefined)) return read
  const driver = qb.connection.driver
  // Only a guess, checked by the update's own row: its trouble is reported and never touches the read's records.
  const learn = (raw: readonly Row[]) => {
    const seen: [PrimaryKey, Record<string, unknown>][] = []
    for (const row of raw) {
      if (!names.every((n) => n! in row)) return
      const [pk] = key.all([row], false) ?? []
      if (pk === undefined) continue
      const image: Record<string, unknown> = {}
      cols.forEach((c, i) => {
        image[fields[i]!] = driver.prepareHydratedValue(row[names[i]!], c!)
      })
      seen.push([pk, image])
    }
    binding.saw(md.tableName, seen)
  }
  return (raw, out) => {
    read(raw, out)
    binding.attempt('read', () => learn(raw))
  }
}

/** A reader made when first called. */
function lazy(make: () => Reader): Reader {
  let reader: Reader | undefined
  return (raw, out) => {
    reader ??= make()
    reader(raw, out)
  }
}

/** The shape of a select query builder's query; `outer` for the pagination query of a `getMany()` with joins. */
export function shapeOf(binding: TypeORMBinding, qb: QB, outer?: QB): Shape {
  const em = qb.expressionMap
  const main = em.mainAlias
  if (outer && main?.name === 'distinctAlias' && !main.hasMetadata) {
    // `SELECT DISTINCT ids FROM (the query) LIMIT n`: the page's rows, by the outer query's filter.
    const base = shapeOf(binding, outer)
    const alias = outer.expressionMap.mainAlias!
    const filter = filterOf(outer)
    const read = filter && mainReader(qb, alias, filter, outer)
    return {
      tables: base.tables,
      records(raw) {
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
  parse ||= em.selects.some((s) => typeof s.selection === 'string' && /\bselect\b/i.test(s.selection))
  let everything = parse || !main?.hasMetadata
  const add = (md: EntityMetadata, read: Reader | undefined) => {
    const view = md.tableType === 'view'
    for (const t of binding.tablesOf(md.tableName)) {
      tables.add(t)
      if (view || !read) whole.add(t)
    }
    if (read && !view) readers.push(read)
  }
  if (main?.hasMetadata) {
    const filter = filterOf(qb)
    parse ||= !filter
    // Built on first use: a cache hit needs the tables only, never the readers.
    add(main.metadata, filter && lazy(() => imageReader(binding, qb, main, mainReader(qb, main, filter))))
  }
  for (const join of em.joinAttributes) {
    if (!join.alias.hasMetadata) {
      everything = true
      continue
    }
    let relation: JoinLike['relation']
    try {
      relation = join.relation
    } catch {}
    const junction = relation?.isManyToMany ? relation.junctionEntityMetadata?.tableName : undefined
    if (junction) tables.add(junction)
    // An INNER JOIN filters the parents by the children; the condition TypeORM adds for soft deletes is no filter (a soft delete is a delete).
    everything ||= join.direction !== 'LEFT'
    const gone = join.alias.metadata.deleteDateColumn
    const plain =
      !join.condition || (gone && join.condition === `${join.alias.name}.${gone.propertyName} IS NULL`)
    const parent = em.aliases.find((a) => a.name === join.parentAlias && a.hasMetadata)
    const read =
      relation && parent && join.isSelected && plain ? joinReader(qb, join, relation, parent.name) : undefined
    add(join.alias.metadata, read)
    if (!read && junction) whole.add(junction)
  }
  if (parse || everything) for (const t of parsedTables(binding, qb.getQuery())) tables.add(t) && whole.add(t)
  if (everything) for (const t of tables) whole.add(t)
  return {
    tables: [...tables],
    records(raw) {
      const out: ReadRecord[] = [...whole].map((table) => ({ table, whole: true }))
      const own: ReadRecord[] = []
      for (const read of readers) read(raw, own)
      return [...out, ...own.filter((r) => !whole.has(r.table))]
    },
  }
}

/** The shape of the query in a read context, computed once. */
export const shapeIn = (ctx: ReadContext): Shape => (ctx.shape ??= shapeOf(ctx.binding, ctx.qb!, ctx.outer))

/** Runs `fn`; a failure is reported and leaves the frames unsafe (the value is served, never stored). */
function attempt<T>(ctx: ReadContext, frames: readonly ReadFrame[], fn: () => T): T | undefined {
  try {
    return fn()
  } catch (error) {
    ctx.binding.report('read', error)
    for (const f of frames) markUnsafe(f)
  }
}

async function tracked(ctx: ReadContext, frames: readonly ReadFrame[], load: Method): Promise<Row[]> {
  const shape = attempt(ctx, frames, () => shapeIn(ctx))
  // Inside a transaction rows may be uncommitted: the loads (and those around them) are never stored.
  await fenceReads(frames, shape?.tables ?? [], ctx.runner?.isTransactionActive === true)
  const raw: Row[] = await readContext.run(ctx, () => load.call(ctx.qb, ctx.runner))
  if (shape) attempt(ctx, frames, () => reportReads(frames, shape.records(raw)))
  return raw
}

/** A raw `query()` inside a read frame depends on the whole tables it names. Returns what to call after it ran. */
export async function rawRead(bindings: readonly TypeORMBinding[], sql: string) {
  const frames = framesOf(bindings)
  if (!frames) return undefined
  const tables = parsedTables(bindings[0]!, sql)
  await fenceReads(frames, tables)
  return () => reportReads(frames, wholeTables(tables))
}

const cached = (qb: QB) =>
  (qb.connection.queryResultCache as { [FRESHKEY_CACHE]?: boolean } | undefined)?.[FRESHKEY_CACHE] === true

/** Patches the select query builder of one TypeORM copy (once). */
export function installReadHooks(proto: object): void {
  if (!firstPatch(proto)) return
  trackWheres(proto, true)
  around(proto, 'executeEntitiesAndRawResults', function (this: QB, orig, [runner]) {
    const bindings = bindingsOf(this.connection)
    if (bindings.length === 0 || (!cached(this) && !framesOf(bindings))) return orig.call(this, runner)
    return readContext.run({ runner, binding: bindings[0]!, outer: this }, () => orig.call(this, runner))
  })
  around(proto, 'loadRawResults', function (this: QB, load, [runner]) {
    const bindings = bindingsOf(this.connection)
    const frames = framesOf(bindings)
    if (!frames && !(bindings.length > 0 && cached(this))) return load.call(this, runner)
    const outer = readContext.getStore()?.outer
    const ctx: ReadContext = { runner, binding: bindings[0]!, qb: this, ...(outer && { outer }) }
    return frames ? tracked(ctx, frames, load) : readContext.run(ctx, () => load.call(this, runner))
  })
  // A stream's rows are never seen: what a loader streams is served, never stored.
  around(proto, 'stream', function (this: QB, orig, args) {
    for (const f of framesOf(bindingsOf(this.connection)) ?? []) markUnsafe(f)
    return orig.apply(this, args)
  })
}
