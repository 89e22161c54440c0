import { AsyncLocalStorage } from 'node:async_hooks'
import { type ReadRecord, sqlTablesRead, type WriteFact } from '@freshkey/core/adapter'
import type { EntityManager, EntityMetadata, MetadataStorage } from '@mikro-orm/core'
import { Utils } from '@mikro-orm/core'
import {
  bindingsOf,
  framesOf,
  liveBindings,
  type MikroOrmBinding,
  silentBindingsOf,
  type Trx,
} from './binding.ts'
import { insertFacts, nativeDeleteFacts, nativeUpdateFacts, queryBuilderFacts } from './facts.ts'
import { relatedTables } from './filter-query.ts'
import { watchKysely } from './kysely.ts'
import { type Method, patchMethods } from './patch.ts'
import { driverRecords, fence, graphRecords, type Hint, hintTables, report } from './read-tracking.ts'
import { tableOf } from './schema.ts'

/** A result-cache call in flight: the entity manager asking, its query, and the fill its miss may do. */
export interface CacheContext {
  readonly em: EntityManager
  readonly entityName?: unknown
  readonly key?: unknown
  pending?: unknown
}
export const cacheContext = new AsyncLocalStorage<CacheContext>()
/** `tryCache` result → the fill of its miss (the same object comes back to `storeCache`). */
const fills = new WeakMap<object, unknown>()

/** `afterUpsert` events of one `em.upsert*` call, recorded together when it returns. */
export const upsertBatch = new AsyncLocalStorage<{
  facts: Map<MikroOrmBinding, WriteFact[]>
  partial: boolean
}>()

type Em = EntityManager & { config: object; getContext(validate?: boolean): EntityManager }

function silent(em: Em): readonly MikroOrmBinding[] | undefined {
  const bs = silentBindingsOf(em.config)
  return bs.length > 0 ? bs : undefined
}

const trxOf = (em: Em, options: unknown): Trx | undefined =>
  ((options as { ctx?: Trx } | undefined)?.ctx ?? em.getContext(false).getTransactionContext()) as
    | Trx
    | undefined

/**
 * A silent write: facts known before it runs go out with it (outside a transaction as a fence
 * sent in parallel, inside recorded into the transaction); facts known only from its result
 * (inserted keys) are recorded once it returned.
 */
async function write<R>(
  bindings: readonly MikroOrmBinding[],
  trx: Trx | undefined,
  operation: string,
  meta: EntityMetadata | ((b: MikroOrmBinding) => EntityMetadata | undefined) | undefined,
  run: () => Promise<R>,
  before: ((m: EntityMetadata) => WriteFact[]) | undefined,
  after?: (m: EntityMetadata, result: R) => WriteFact[],
): Promise<R> {
  const metaOf = (b: MikroOrmBinding) => (typeof meta === 'function' ? meta(b) : meta)
  const facts = (b: MikroOrmBinding, build: (m: EntityMetadata) => WriteFact[]) =>
    b.factsOf(operation, metaOf(b), () => {
      const m = metaOf(b)
      return m ? build(m) : []
    })
  if (before && !trx)
    return bindings.reduceRight<() => Promise<R>>(
      (next, b) => () => b.autocommit(facts(b, before), next),
      run,
    )()
  const result = await run()
  for (const b of bindings)
    await b.record(trx, facts(b, before ?? ((m) => after!(m, result))), trx !== undefined)
  return result
}

/** SQL text of what `em.execute` takes: a string, a `raw()` fragment, a Knex or Kysely query. */
function sqlText(query: unknown): string | undefined {
  if (typeof query === 'string') return query
  const q = query as {
    sql?: unknown
    toSQL?: () => { sql?: unknown }
    toRaw?: () => { sql?: unknown }
  } | null
  if (typeof q?.sql === 'string') return q.sql
  try {
    const sql = q?.toSQL?.().sql ?? q?.toRaw?.().sql
    return typeof sql === 'string' ? sql : undefined
  } catch {
    return undefined
  }
}

/** Tables a raw read depends on: those it names, or every table when it names one freshkey does not know (a view). */
export function rawReadTables(binding: MikroOrmBinding, sql: string | undefined): string[] {
  const known = binding.graph.tables
  const named = sql === undefined ? undefined : sqlTablesRead(sql, known)
  return named?.every((t) => known.has(t)) ? named : [...known]
}

/** Runs a read the tracker cannot analyse (raw SQL, QueryBuilder): its tables are read whole. */
async function opaqueRead<R>(
  bindings: readonly MikroOrmBinding[],
  sql: () => string | undefined,
  inTransaction: boolean,
  run: () => Promise<R>,
): Promise<R> {
  const frames = framesOf(bindings)
  if (!frames) return run()
  const tables = rawReadTables(bindings[0]!, sql())
  await fence(frames, tables, inTransaction)
  const result = await run()
  report(
    frames,
    tables.map((table) => ({ table, whole: true })),
  )
  return result
}

interface QueryBuilderLike {
  readonly type?: string
  readonly em?: Em
  readonly context?: Trx
  readonly mainAlias?: { meta?: EntityMetadata; metadata?: EntityMetadata }
  getQuery?: () => string
  execute: Method
  clone: Method
}

const watched = new WeakSet<object>()

/** Records the writes of a QueryBuilder and tracks its reads; its clones (`getCount`) too. */
function watchQueryBuilder(qb: QueryBuilderLike): QueryBuilderLike {
  if (!qb || typeof qb.execute !== 'function' || watched.has(qb)) return qb
  watched.add(qb)
  const { execute, clone } = qb
  qb.execute = async function (this: QueryBuilderLike, ...args: unknown[]) {
    const bs = this.em ? bindingsOf(this.em.config) : []
    const type = this.type ?? 'SELECT'
    if (bs.length === 0) return execute.apply(this, args)
    if (type === 'SELECT' || type === 'COUNT')
      return opaqueRead(
        bs,
        () => this.getQuery?.(),
        this.context !== undefined,
        () => execute.apply(this, args),
      )
    const silentBs = bs.filter((b) => b.silentWrites)
    return write(
      silentBs,
      this.context,
      'queryBuilder',
      this.mainAlias?.meta ?? this.mainAlias?.metadata,
      () => execute.apply(this, args),
      undefined,
      () => queryBuilderFacts(this as never, () => [...silentBs[0]!.graph.tables]),
    )
  }
  qb.clone = function (this: QueryBuilderLike, ...args: unknown[]) {
    return watchQueryBuilder(clone.apply(this, args))
  }
  return qb
}

const upserts = (original: Method): Method =>
  async function (this: Em, ...args: unknown[]) {
    const bs = bindingsOf(this.config)
    if (bs.length === 0 || upsertBatch.getStore()) return original.apply(this, args)
    const opts = (args.length > 2 ? args[2] : args[1]) as Record<string, unknown> | undefined
    const partial = ['onConflictMergeFields', 'onConflictExcludeFields', 'onConflictAction'].some(
      (k) => opts?.[k] !== undefined,
    )
    const batch = { facts: new Map<MikroOrmBinding, WriteFact[]>(), partial }
    const result = await upsertBatch.run(batch, () => original.apply(this, args))
    const trx = this.getContext(false).getTransactionContext() as Trx | undefined
    for (const [b, facts] of batch.facts) await b.record(trx, facts, trx !== undefined)
    return result
  }

/**
 * The entity manager methods that write without the unit of work (recorded), read outside the
 * driver's find/count (tracked), or talk to the result cache (given their entity manager).
 */
const EM_WRAPS: Record<string, (original: Method) => Method> = {
  nativeUpdate: (original) =>
    function (this: Em, entityName, where, data, options) {
      const bs = silent(this)
      const run = () => original.call(this, entityName, where, data, options)
      return bs
        ? write(
            bs,
            trxOf(this, options),
            'nativeUpdate',
            (b) => b.meta(entityName),
            run,
            (m) => nativeUpdateFacts(m, where, data),
          )
        : run()
    },
  nativeDelete: (original) =>
    function (this: Em, entityName, where, options) {
      const bs = silent(this)
      const run = () => original.call(this, entityName, where, options)
      return bs
        ? write(
            bs,
            trxOf(this, options),
            'nativeDelete',
            (b) => b.meta(entityName),
            run,
            (m) => nativeDeleteFacts(m, where),
          )
        : run()
    },
  insert: (original) =>
    function (this: Em, entityNameOrEntity, data, options) {
      const bs = silent(this)
      const run = () => original.call(this, entityNameOrEntity, data, options)
      const rows = data === undefined || !Utils.isPlainObject(data) ? [entityNameOrEntity] : [data]
      return bs
        ? write(
            bs,
            trxOf(this, options),
            'insert',
            (b) => b.meta(entityNameOrEntity),
            run,
            undefined,
            (m, id) => insertFacts(m, rows, [id]),
          )
        : run()
    },
  insertMany: (original) =>
    function (this: Em, entityNameOrEntities, data, options) {
      const bs = silent(this)
      const run = () => original.call(this, entityNameOrEntities, data, options)
      const rows = Array.isArray(data) ? data : (entityNameOrEntities as unknown[])
      const target = Array.isArray(data) ? entityNameOrEntities : (entityNameOrEntities as unknown[])[0]
      return bs
        ? write(
            bs,
            trxOf(this, options),
            'insertMany',
            (b) => b.meta(target),
            run,
            undefined,
            (m, ids) => insertFacts(m, rows, ids as unknown[]),
          )
        : run()
    },
  clone: (original) =>
    function (this: Em, ...args: unknown[]) {
      const bs = silent(this)
      const run = () => original.apply(this, args)
      const options = args.find((a, i) => i >= 2 && Utils.isPlainObject(a) && 'ctx' in (a as object))
      return bs
        ? write(
            bs,
            trxOf(this, options),
            'clone',
            (b) => b.meta(args[0]),
            run,
            undefined,
            (m, entity) => insertFacts(m, [entity], [undefined]),
          )
        : run()
    },
  upsert: upserts,
  upsertMany: upserts,
  execute: (original) =>
    function (this: Em, query, params, ...rest) {
      const bs = bindingsOf(this.config)
      const run = () => original.call(this, query, params, ...rest)
      if (bs.length === 0) return run()
      const trx = trxOf(this, undefined)
      const sql = sqlText(query)
      return opaqueRead(
        bs,
        () => sql,
        trx !== undefined,
        async () => {
          const result = await run()
          for (const b of bs.filter((x) => x.silentWrites)) {
            if (sql === undefined)
              await b.record(
                trx,
                [...b.graph.tables].map((t) => ({ table: t, kind: 'bulk', verb: 'unknown' })),
                trx !== undefined,
              )
            else await b.raw(trx, sql, Array.isArray(params) ? params : [], trx !== undefined)
          }
          return result
        },
      )
    },
  createQueryBuilder: (original) =>
    function (this: Em, ...args: unknown[]) {
      const qb = original.apply(this, args)
      return bindingsOf(this.config).length > 0 ? watchQueryBuilder(qb) : qb
    },
  getKysely: (original) =>
    function (this: Em, ...args: unknown[]) {
      const kysely = original.apply(this, args)
      const bs = bindingsOf(this.config)
      return bs.length > 0
        ? watchKysely(kysely, bs, this.getContext(false).getTransactionContext() as Trx | undefined)
        : kysely
    },
  tryCache: (original) =>
    async function (this: Em, entityName, config, key, ...rest) {
      if (bindingsOf(this.config).length === 0) return original.call(this, entityName, config, key, ...rest)
      const ctx: CacheContext = { em: this.getContext(false), entityName, key }
      const result = await cacheContext.run(ctx, () => original.call(this, entityName, config, key, ...rest))
      if (result && ctx.pending) fills.set(result, ctx.pending)
      return result
    },
  storeCache: (original) =>
    function (this: Em, config, key, data) {
      if (bindingsOf(this.config).length === 0) return original.call(this, config, key, data)
      const pending = key && typeof key === 'object' ? fills.get(key) : undefined
      return cacheContext.run({ em: this.getContext(false), pending }, () =>
        original.call(this, config, key, data),
      )
    },
}

/** Wraps the entity manager class of an ORM (shared by every ORM using the class). */
export function patchEntityManager(proto: object): () => void {
  return patchMethods(proto, EM_WRAPS)
}

/**
 * Every populate — after `em.find`/`findOne` (identity-map hits too), `em.populate`, lazy
 * collection and reference loads — ends in `EntityLoader.populate` with the entities and hints:
 * what they hold becomes the read, whether it came from a query or from the identity map.
 */
export function patchEntityLoader(proto: object): () => void {
  return patchMethods(proto, {
    populate: (original) =>
      async function (this: { normalizePopulate: Method }, entityName, entities, populate, options) {
        const top = !options?.visited
        const result = await original.call(this, entityName, entities, populate, options)
        const first = Array.isArray(entities)
          ? (entities[0] as { __meta?: EntityMetadata } | undefined)
          : undefined
        const meta = first?.__meta
        if (!top || !meta) return result
        for (const b of liveBindings()) {
          const frames = framesOf([b])
          if (!frames || b.metadata.find(meta.class as never) !== meta) continue
          const hints = Utils.isEmpty(populate)
            ? []
            : (this.normalizePopulate(
                entityName,
                populate,
                options?.strategy,
                options?.lookup,
                options?.exclude,
              ) as Hint[])
          // `populateWhere: 'infer'` applies the relation conditions of the query to what it populates.
          const through = new Set<string>()
          relatedTables(b.metadata, meta, options?.where, through)
          relatedTables(b.metadata, meta, options?.populateWhere, through)
          const narrowed = through.size > 0
          const records = graphRecords(b.metadata, meta, entities, hints, false, narrowed)
          await fence(frames, new Set(records.map((r) => r.table)), false)
          report(frames, records)
        }
        return result
      },
  })
}

function readTables(
  metadata: MetadataStorage,
  meta: EntityMetadata,
  where: unknown,
  options: Record<string, unknown> | undefined,
): Set<string> {
  const out = new Set<string>()
  const table = tableOf(meta)
  if (table) out.add(table)
  relatedTables(metadata, meta, where, out)
  hintTables(metadata, meta, options?.populate, out)
  for (const w of [options?.populateWhere, options?.populateFilter]) relatedTables(metadata, meta, w, out)
  return out
}

const driverRead =
  (kind: 'find' | 'count') =>
  (original: Method): Method =>
    async function (this: { config: object }, entityName, where, options, ...rest) {
      const bs = bindingsOf(this.config)
      const frames = framesOf(bs)
      if (!frames) return original.call(this, entityName, where, options, ...rest)
      const b = bs[0]!
      const meta = b.meta(entityName)
      const opaque = !meta || meta.virtual || !tableOf(meta)
      const tables = opaque ? [...b.graph.tables] : readTables(b.metadata, meta, where, options)
      await fence(frames, tables, options?.ctx !== undefined && options?.ctx !== null)
      const result = await original.call(this, entityName, where, options, ...rest)
      const records: ReadRecord[] = opaque
        ? [...tables].map((table) => ({ table, whole: true }))
        : driverRecords(
            b.metadata,
            meta,
            where,
            options,
            kind === 'find' ? (result as Record<string, unknown>[]) : undefined,
          )
      report(frames, records)
      return result
    }

const connectionEnd =
  (end: 'afterCommit' | 'afterRollback') =>
  (original: Method): Method =>
    async function (this: { config: object }, ctx: Trx, ...rest: unknown[]) {
      const bs = bindingsOf(this.config).map((b) => [b, b.frames.depth(ctx)] as const)
      await original.call(this, ctx, ...rest)
      // The subscriber ends frames from transaction events; MikroORM 6 sends none for savepoints.
      for (const [b, depth] of bs) if (depth > 0 && b.frames.depth(ctx) === depth) await b.frames[end](ctx)
    }

/** Wraps one ORM's driver (reads) and write connection (transactions the events do not show). */
export function patchDriver(driver: { getConnection(type?: string): object }): () => void {
  const offDriver = patchMethods(driver, { find: driverRead('find'), count: driverRead('count') })
  const offConnection = patchMethods(driver.getConnection('write'), {
    begin: (original) =>
      async function (this: { config: object }, options?: { ctx?: Trx }) {
        const trx = (await original.call(this, options)) as Trx
        for (const b of bindingsOf(this.config))
          if (b.frames.depth(trx) === 0) b.frames.begin(trx, options?.ctx)
        return trx
      },
    commit: connectionEnd('afterCommit'),
    rollback: connectionEnd('afterRollback'),
  })
  return () => {
    offDriver()
    offConnection()
  }
}
