import { AsyncLocalStorage } from 'node:async_hooks'
import type { Freshkey } from '@freshkey/core'
import {
  AdapterSetupError,
  Binding,
  type ReadFrame,
  type ReadRecord,
  rawSqlFacts,
  SchemaGraph,
  sqlTablesRead,
  type WriteFact,
} from '@freshkey/core/adapter'
import { PrismaOptionsError } from './errors.ts'
import type { FreshkeyPrismaOptions } from './options.ts'
import { rawMayWrite, rawParameters, rawSqlText } from './raw-sql.ts'
import { prepareRead, READS, readRecords, tablesRead } from './reads.ts'
import { markRecords, resolverFor } from './record-mark.ts'
import type { Row } from './rows.ts'
import { ModelIndex, type ModelInfo, type RuntimeDataModel } from './schema.ts'
import { augmentWrite, strip } from './selection.ts'
import { watchEngine } from './transactions.ts'
import { WRITES, writeFacts } from './writes.ts'

/** What Prisma passes to a `query.$allOperations` hook. */
export interface QueryParams {
  model?: string
  operation: string
  args: any
  query: (args: any) => PromiseLike<unknown>
  __internalParams?: unknown
}

/** One `$transaction` call, the handle of its frame: a root, a savepoint (nested), or a batch. */
export interface TxFrame {
  readonly kind: 'itx' | 'batch'
  readonly parent: TxFrame | undefined
  /** Prisma's interactive transaction id (shared by nested savepoints). */
  txId?: string
  /** The id Prisma gave the batch whose queries record here. */
  batchId?: unknown
}

/** The SQL `verify()` sends: the query hook recognises it. */
export const PROBE_SQL = 'SELECT 1 AS freshkey_probe'

const AUTOCOMMIT = new Set(['update', 'delete'])
const MAX_PARSED = 500

/** freshkey on one Prisma client: the query hook, the transactions it sees and the model index. */
export class PrismaBinding extends Binding<TxFrame> {
  readonly index: ModelIndex
  readonly als = new AsyncLocalStorage<TxFrame>()
  /** Prisma interactive transaction id → its innermost open frame. */
  readonly itx = new Map<string, TxFrame>()
  /** Frames of transactions whose start freshkey did not see (their end is watched on the engine). */
  readonly missed = new Map<string, TxFrame>()
  /** Where the last `verify()` probe was seen: `true` in a frame this binding began. */
  probe: boolean | undefined
  readonly #mark: boolean
  readonly #parsedWrites = new Map<string, WriteFact[]>()
  readonly #parsedReads = new Map<string, string[]>()

  constructor(fk: Freshkey, root: object, client: object, options: FreshkeyPrismaOptions) {
    super(fk, root, 'prisma', options)
    this.#mark = options.markRecords ?? true
    const raw = options.rawSql
    if (raw !== undefined && typeof raw !== 'function' && !['parse', 'all', 'ignore'].includes(raw))
      throw new PrismaOptionsError("`rawSql` must be 'parse', 'all', 'ignore' or a function")
    if (!options.metadata)
      throw new AdapterSetupError(
        'prisma',
        'pass `metadata` from the freshkey-prisma generator: add `generator freshkey { provider = "freshkey-prisma" }` and run `prisma generate`',
      )
    this.index = new ModelIndex(
      options.metadata,
      (client as { _runtimeDataModel?: RuntimeDataModel })._runtimeDataModel,
    )
    for (const [name, lists] of Object.entries(options.scopes ?? {})) {
      const model = this.index.model(name)
      if (!model) throw new PrismaOptionsError(`scopes: unknown model "${name}"`)
      fk.defineScope(model.table, lists)
    }
    this.setGraph(new SchemaGraph(this.index.facts()))
    this.transactionSource(() => this.frames.current(this.als.getStore()))
    this.resolver(resolverFor(this.index))
  }

  /** The `query.$allOperations` hook. */
  async onQuery(p: QueryParams): Promise<unknown> {
    if (this.disposed) return p.query(p.args)
    if (!p.model) return this.#raw(p)
    const model = this.index.model(p.model)
    if (!model) return p.query(p.args)
    if (WRITES.has(p.operation)) return this.#write(model, p)
    const frame = READS.has(p.operation) ? this.frame() : undefined
    const result = frame ? await this.#tracked(frame, model, p) : await p.query(p.args)
    if (this.#mark) this.#markSafely(model, result)
    return result
  }

  /** Where a statement's writes go: its transaction's frame, or nowhere (it commits by itself). */
  #locate(p: QueryParams): { handle?: TxFrame; inTransaction: boolean } {
    const internal = p.__internalParams as { transaction?: { kind?: string; id?: unknown } } | undefined
    const current = this.als.getStore()
    // Without Prisma's request parameters (another Prisma version) the frame is all there is.
    if (!internal || typeof internal !== 'object' || !('transaction' in internal))
      return current ? { handle: current, inTransaction: true } : { inTransaction: false }
    const t = internal.transaction
    if (!t) return { inTransaction: false }
    if (t.kind === 'itx' && typeof t.id === 'string') {
      const known = this.itx.get(t.id)
      if (known) return { handle: known, inTransaction: true }
      let missed = this.missed.get(t.id)
      if (!missed && watchEngine(this.client)) {
        missed = { kind: 'itx', parent: undefined, txId: t.id }
        this.missed.set(t.id, missed)
      }
      if (missed) return { handle: missed, inTransaction: true }
      this.report(
        'transaction',
        new Error('a write ran in a transaction freshkey cannot follow; it is bumped at once'),
      )
      return { inTransaction: false }
    }
    if (t.kind === 'batch' && current?.kind === 'batch') {
      current.batchId ??= t.id
      if (current.batchId === t.id) return { handle: current, inTransaction: true }
    }
    // A batch freshkey did not see start: its results arrive after its COMMIT.
    return { inTransaction: false }
  }

  #facts(model: ModelInfo, op: string, args: Row, result?: unknown): WriteFact[] | undefined {
    try {
      return writeFacts(this.index, model, op, args, result)
    } catch (error) {
      this.report('write', error)
      return result === undefined ? undefined : [{ table: model.table, kind: 'bulk', verb: 'unknown' }]
    }
  }

  async #write(model: ModelInfo, p: QueryParams): Promise<unknown> {
    const args = (p.args ?? {}) as Row
    const { handle, inTransaction } = this.#locate(p)
    const { sent, added } = augmentWrite(model, p.operation, args)
    let result: unknown
    const early =
      !inTransaction && AUTOCOMMIT.has(p.operation) ? this.#facts(model, p.operation, args) : undefined
    if (early) result = await this.autocommit(early, () => Promise.resolve(p.query(sent)))
    else {
      result = await p.query(sent)
      await this.record(handle, this.#facts(model, p.operation, args, result) ?? [], inTransaction)
    }
    strip(result, added)
    if (this.#mark) this.#markSafely(model, result)
    return result
  }

  /** A read inside a load: fence its tables first, then tell the load what it returned. */
  async #tracked(frame: ReadFrame, model: ModelInfo, p: QueryParams): Promise<unknown> {
    const args = (p.args ?? {}) as Row
    const internal = p.__internalParams as
      | { dataPath?: unknown[]; transaction?: { kind?: string } }
      | undefined
    // Rows read inside a transaction may be uncommitted: serve them, never store them.
    if (internal?.transaction?.kind === 'itx') frame.unsafe = true
    const tables = tablesRead(this.index, model, args)
    // The fluent API (`findUnique().posts()`) hands the hook the unpacked relation: read whole.
    const fluent = (internal?.dataPath?.length ?? 0) > 0
    const plan = fluent ? { sent: args, strip() {} } : prepareRead(this.index, model, p.operation, args)
    const pending = frame.beforeQuery(tables)
    if (pending) await pending
    const result = await p.query(plan.sent)
    let records: ReadRecord[]
    try {
      records = fluent ? [] : readRecords(this.index, model, p.operation, plan.sent, result)
    } catch (error) {
      this.report('read', error)
      records = []
    }
    if (records.length === 0) records = tables.map((table) => ({ table, whole: true }))
    for (const r of records) frame.read(r)
    plan.strip(result)
    return result
  }

  async #raw(p: QueryParams): Promise<unknown> {
    const sql = rawSqlText(p.operation, p.args)
    if (sql === PROBE_SQL) {
      const { handle } = this.#locate(p)
      this.probe = handle !== undefined && !this.missed.has(handle.txId ?? '')
    }
    if (!rawMayWrite(p.operation, p.args)) {
      const frame = this.frame()
      if (!frame || sql === undefined) return p.query(p.args)
      const tables = remember(this.#parsedReads, sql, () => sqlTablesRead(sql, this.graph.tables))
      const pending = frame.beforeQuery(tables)
      if (pending) await pending
      const result = await p.query(p.args)
      for (const table of tables) frame.read({ table, whole: true })
      return result
    }
    const { handle, inTransaction } = this.#locate(p)
    const result = await p.query(p.args)
    await this.record(handle, this.#rawFacts(sql, rawParameters(p.operation, p.args)), inTransaction)
    return result
  }

  #rawFacts(sql: string | undefined, parameters: readonly unknown[]): WriteFact[] {
    const all = () =>
      [...this.graph.tables].map((table): WriteFact => ({ table, kind: 'bulk', verb: 'unknown' }))
    if (sql === undefined) return this.rawSql === 'ignore' ? [] : all()
    const parse = () => rawSqlFacts(this.graph, sql, parameters, this.rawSql)
    try {
      return typeof this.rawSql === 'function' ? parse() : remember(this.#parsedWrites, sql, parse)
    } catch (error) {
      this.report('raw', error)
      return all()
    }
  }

  /** Marks can fail on frozen results (another extension's doing); the write has committed by then. */
  #markSafely(model: ModelInfo, result: unknown): void {
    try {
      markRecords(this.index, model, result)
    } catch (error) {
      this.report('mark', error)
    }
  }
}

/** An LRU of what was parsed per statement text. */
function remember<T>(cache: Map<string, T>, key: string, compute: () => T): T {
  let value = cache.get(key)
  if (value !== undefined) cache.delete(key)
  else {
    value = compute()
    if (cache.size >= MAX_PARSED) cache.delete(cache.keys().next().value as string)
  }
  cache.set(key, value)
  return value
}
