import { AsyncLocalStorage } from 'node:async_hooks'
import {
  bulkFacts,
  framesOf,
  knownTables,
  kyselyTables,
  type MethodWraps,
  markUnsafe,
  patchMethods,
  reportReads,
  silentWrite,
  sqlTextOf,
  trackedQuery,
  unpatched,
  type WriteFact,
  wholeTables,
} from '@freshkey/core/adapter'
import type * as M from '@mikro-orm/core'
import { Utils } from '@mikro-orm/core'
import { type MikroOrmBinding as B, bindingsOf, live, silentBindingsOf, type Trx } from './binding.ts'
import * as facts from './facts.ts'
import { type Row, tableOf } from './metadata.ts'
import * as reads from './reads.ts'

type Fn = (this: any, ...args: any[]) => any
type Em = M.EntityManager & { config: object }
type Meta = M.EntityMetadata
type CacheCall = { em: M.EntityManager; entityName?: unknown; key?: unknown; pending?: unknown }
type WriteSpec = {
  target: unknown
  options?: unknown
  before?: (m: Meta) => WriteFact[]
  after?: (m: Meta, r: any) => WriteFact[]
}

/** A result-cache call in flight: the entity manager asking, its query, and the fill its miss may do. */
export const cacheContext = new AsyncLocalStorage<CacheCall>()
/** `tryCache` result → the fill of its miss (the same object comes back to `storeCache`). */
const fills = new WeakMap<object, unknown>()
/** `afterUpsert` events of one `em.upsert*` call, recorded together when it returns. */
export const upsertBatch = new AsyncLocalStorage<{ facts: Map<B, WriteFact[]>; partial: boolean }>()

const trxOf = (em: Em, options?: any): Trx | undefined =>
  options?.ctx ?? em.getContext(false).getTransactionContext()

/** A silent write of `s.target`: its facts on each binding, widened to the target's table when they cannot be worked out. */
function write<R>(bs: readonly B[], trx: Trx | undefined, s: WriteSpec, run: () => Promise<R>) {
  const of = (b: B, build: (m: Meta) => WriteFact[]) => {
    const m = b.meta(s.target)
    return b.factsOf('write', tableOf(m), () => (m ? build(m) : []))
  }
  const { before, after } = s
  const facts = before
    ? { before: (b: B) => of(b, before) }
    : { after: (b: B, r: R) => of(b, (m) => after!(m, r)) }
  return silentWrite(bs, trx, facts, run)
}

/** A read the tracker cannot analyse (raw SQL, QueryBuilder): the tables it names, whole. */
async function opaqueRead<R>(bs: readonly B[], sql: () => unknown, inTx: boolean, run: () => Promise<R>) {
  const frames = framesOf(bs)
  return frames ? trackedQuery(frames, bs[0]!.rawReadTables(sqlTextOf(sql())), inTx, run) : run()
}

type QB = facts.QueryBuilderLike & { em?: Em; context?: Trx; getQuery?(): string; execute: Fn; clone: Fn }
const watched = new WeakSet<object>()

/** Records the writes of a QueryBuilder and tracks its reads; its clones (`getCount`) too. */
function watchQueryBuilder(qb: QB): QB {
  if (!qb || typeof qb.execute !== 'function' || watched.has(qb)) return qb
  watched.add(qb)
  const { execute, clone } = qb
  qb.execute = function (this: QB, ...args: unknown[]) {
    const [bs, silent] = [bindingsOf(this.em?.config), silentBindingsOf(this.em?.config)]
    const run = () => execute.apply(this, args)
    const target = this.mainAlias?.meta ?? this.mainAlias?.metadata
    const after = (m: Meta) => facts.queryBuilderFacts(this, m, silent[0]!.graph.tables)
    if (!['SELECT', 'COUNT'].includes(this.type ?? 'SELECT') && silent.length > 0)
      return write(silent, this.context, { target, after }, run)
    return bs.length === 0 ? run() : opaqueRead(bs, () => this.getQuery?.(), !!this.context, run)
  }
  qb.clone = function (this: QB, ...args: unknown[]) {
    return watchQueryBuilder(clone.apply(this, args))
  }
  return qb
}

const WRITE_NODE = /^(Insert|Update|Delete|Merge)QueryNode$/

/**
 * `em.getKysely()` with a plugin: writes are recorded once they ran (their tables in bulk; raw `sql`
 * by the raw-SQL policy). Plugins transform synchronously, so a read cannot be fenced before it
 * runs: inside a cached loader its value is served, never stored.
 */
function watchKysely<K>(kysely: K, bs: readonly B[], trx: Trx | undefined): K {
  const writes = new WeakMap<object, (b: B) => Promise<void>>()
  const plugin = {
    transformQuery({ node, queryId }: { node: Row & { kind?: string }; queryId: object }) {
      const named = [...kyselyTables(node)]
      const sql = node.kind === 'RawNode' ? ((node.sqlFragments as string[]) ?? []).join('?') : undefined
      const isWrite = WRITE_NODE.test(node.kind ?? '')
      if (sql !== undefined) writes.set(queryId, (b) => b.raw(trx, sql, [], !!trx))
      else if (isWrite)
        writes.set(queryId, (b) => b.record(trx, bulkFacts(knownTables(b.graph, named)), !!trx))
      if (!isWrite) for (const f of framesOf(bs) ?? []) markUnsafe(f)
      return node
    },
    async transformResult({ result, queryId }: { result: unknown; queryId: object }) {
      for (const b of bs) if (b.silentWrites) await writes.get(queryId)?.(b)
      return result
    },
  }
  const k = kysely as K & { withPlugin?: (plugin: object) => K }
  return typeof k?.withPlugin === 'function' ? k.withPlugin(plugin) : kysely
}

/** The silent writes of the entity manager: their target and options, and their facts before or after they ran. */
const SILENT: Record<string, (a: any[]) => WriteSpec> = {
  nativeUpdate: ([target, where, data, options]) => ({
    target,
    options,
    before: (m) => facts.nativeUpdateFacts(m, where, data),
  }),
  nativeDelete: ([target, where, options]) => ({
    target,
    options,
    before: (m) => facts.nativeDeleteFacts(m, where),
  }),
  insert: ([target, data, options]) => {
    const row = Utils.isPlainObject(data) ? data : target
    return { target, options, after: (m, id) => facts.insertFacts(m, [row], [id]) }
  },
  insertMany: ([target, data, options]) => {
    const [rows, entity] = Array.isArray(data) ? [data, target] : [target, target[0]]
    return { target: entity, options, after: (m, ids) => facts.insertFacts(m, rows, ids) }
  },
  clone: (a) => {
    const options = a.find((x, i) => i >= 2 && Utils.isPlainObject(x) && 'ctx' in x)
    return { target: a[0], options, after: (m, entity) => facts.insertFacts(m, [entity], []) }
  },
}

const wrapSilent =
  (spec: (a: any[]) => WriteSpec) =>
  (original: Fn): Fn =>
    function (this: Em, ...args: unknown[]) {
      const bs = silentBindingsOf(this.config)
      if (bs.length === 0) return original.apply(this, args)
      const s = spec(args)
      return write(bs, trxOf(this, s.options), s, () => original.apply(this, args))
    }

const MERGES = ['onConflictMergeFields', 'onConflictExcludeFields', 'onConflictAction']
const upserts = (original: Fn): Fn =>
  async function (this: Em, ...args: unknown[]) {
    if (bindingsOf(this.config).length === 0 || upsertBatch.getStore()) return original.apply(this, args)
    const opts = (args.length > 2 ? args[2] : args[1]) as Row | undefined
    const batch = { facts: new Map<B, WriteFact[]>(), partial: MERGES.some((k) => opts?.[k] !== undefined) }
    const result = await upsertBatch.run(batch, () => original.apply(this, args))
    const trx = trxOf(this)
    for (const [b, f] of batch.facts) await b.record(trx, f, trx !== undefined)
    return result
  }

const EM: MethodWraps = {
  ...Object.fromEntries(Object.entries(SILENT).map(([name, spec]) => [name, wrapSilent(spec)])),
  upsert: upserts,
  upsertMany: upserts,
  execute: (original) =>
    function (this: Em, query, params, ...rest) {
      const trx = trxOf(this)
      const run = async () => {
        const result = await original.call(this, query, params, ...rest)
        const sql = sqlTextOf(query)
        for (const b of silentBindingsOf(this.config))
          await b.raw(trx, sql, Array.isArray(params) ? params : [], !!trx)
        return result
      }
      return opaqueRead(bindingsOf(this.config), () => query, !!trx, run)
    },
  createQueryBuilder: (original) =>
    function (this: Em, ...args: unknown[]) {
      const qb = original.apply(this, args)
      return bindingsOf(this.config).length > 0 ? watchQueryBuilder(qb) : qb
    },
  getKysely: (original) =>
    function (this: Em, ...args: unknown[]) {
      const bs = bindingsOf(this.config)
      const kysely = original.apply(this, args)
      return bs.length > 0 ? watchKysely(kysely, bs, trxOf(this)) : kysely
    },
  tryCache: (original) =>
    async function (this: Em, entityName, config, key, ...rest) {
      const ctx: CacheCall = { em: this.getContext(false), entityName, key }
      const result = await cacheContext.run(ctx, () => original.call(this, entityName, config, key, ...rest))
      if (result && ctx.pending) fills.set(result, ctx.pending)
      return result
    },
  storeCache: (original) =>
    function (this: Em, config, key, data) {
      const ctx = { em: this.getContext(false), pending: Utils.isObject(key) ? fills.get(key) : undefined }
      return cacheContext.run(ctx, () => original.call(this, config, key, data))
    },
}

/**
 * Every populate — after `em.find`/`findOne` (identity-map hits too), `em.populate`, lazy loads of
 * collections and references — ends in `EntityLoader.populate` with the entities and hints: what
 * they hold becomes the read, whether it came from a query or from the identity map.
 */
const populate = (original: Fn): Fn =>
  async function (this: { normalizePopulate: Fn }, entityName, entities, hints, o) {
    const top = !o?.visited
    const result = await original.call(this, entityName, entities, hints, o)
    for (const b of top && entities?.length ? live : []) {
      const frames = framesOf([b])
      // This ORM's metadata of the entities' class (STI subclasses included), not their `__meta`:
      // ORMs sharing entity classes overwrite it on the shared prototype.
      const meta = frames && b.meta(entities[0])
      if (!frames || !meta) continue
      const normalized = Utils.isEmpty(hints)
        ? []
        : (this.normalizePopulate(entityName, hints, o?.strategy, o?.lookup, o?.exclude) as never)
      // `populateWhere: 'infer'` applies the relation conditions of the query to what it populates.
      const through = reads.relatedTables(meta, [o?.where, o?.populateWhere], new Set())
      const records = reads.graphRecords(meta, entities, normalized, false, through.size > 0)
      // No fence here: the queries that loaded these rows were fenced before they ran; rows the
      // identity map held from before the load make it unsafe (served, not stored), never trusted.
      reportReads(frames, records)
    }
    return result
  }

const driverRead =
  (kind: 'find' | 'count') =>
  (original: Fn): Fn =>
    async function (this: { config: object }, entityName, where, o, ...rest) {
      const bs = bindingsOf(this.config)
      const frames = framesOf(bs)
      if (!frames) return original.call(this, entityName, where, o, ...rest)
      const meta = bs[0]!.meta(entityName)
      const table = meta && !meta.virtual ? tableOf(meta) : undefined
      const related = table
        ? reads.relatedTables(meta!, [where, o?.populateWhere, o?.populateFilter], new Set([table]))
        : undefined
      const tables = related ? reads.hintTables(meta!, o?.populate, related) : bs[0]!.graph.tables
      const run = () => original.call(this, entityName, where, o, ...rest)
      return trackedQuery(frames, tables, !!o?.ctx, run, (result) =>
        related
          ? reads.queryRecords(meta!, where, o, kind === 'find' ? (result as Row[]) : undefined)
          : wholeTables(tables),
      )
    }

const ended =
  (end: 'afterCommit' | 'afterRollback') =>
  (original: Fn): Fn =>
    async function (this: { config: object }, ctx: Trx, ...rest: unknown[]) {
      const depths = bindingsOf(this.config).map((b) => [b, b.frames.depth(ctx)] as const)
      await original.call(this, ctx, ...rest)
      // The subscriber ends frames from transaction events; MikroORM 6 sends none for savepoints.
      for (const [b, depth] of depths)
        if (depth > 0 && b.frames.depth(ctx) === depth) await b.frames[end](ctx)
    }

const begin = (original: Fn): Fn =>
  async function (this: { config: object }, options?: { ctx?: Trx }) {
    const trx = (await original.call(this, options)) as Trx
    for (const b of bindingsOf(this.config)) if (b.frames.depth(trx) === 0) b.frames.begin(trx, options?.ctx)
    return trx
  }

/**
 * What freshkey wraps on one ORM, named as `verify()` reports it: the entity manager class (silent
 * writes, raw and QueryBuilder reads, result cache), the EntityLoader class (every populate), the
 * driver (reads) and its write connection (transactions the events do not show).
 */
function hookTargets(em: M.EntityManager): [owner: string, target: object, wraps: MethodWraps][] {
  const driver = em.getDriver()
  return [
    ['em', Object.getPrototypeOf(em), EM],
    ['EntityLoader', Object.getPrototypeOf(em.fork().getEntityLoader()), { populate }],
    ['driver', driver, { find: driverRead('find'), count: driverRead('count') }],
    ['connection', driver.getConnection('write'), CONNECTION],
  ]
}
const CONNECTION: MethodWraps = { begin, commit: ended('afterCommit'), rollback: ended('afterRollback') }

/** Installs the hooks on `em`'s ORM: one release function per patched object. */
export const patchOrm = (em: M.EntityManager) => hookTargets(em).map(([, t, wraps]) => patchMethods(t, wraps))

/** Entity manager wraps that `verify()` does not check. */
const UNVERIFIED = ['clone', 'getKysely']

/** The hooks of `em`'s ORM that are not (or no longer) our wrappers, as `owner.method`. */
export const missingHooks = (em: M.EntityManager): string[] =>
  hookTargets(em).flatMap(([owner, target, wraps]) => {
    const names = Object.keys(wraps).filter((n) => owner !== 'em' || (n in em && !UNVERIFIED.includes(n)))
    return unpatched(target, names).map((n) => `${owner}.${n}`)
  })
