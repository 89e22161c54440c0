import { AsyncLocalStorage } from 'node:async_hooks'
import type { Freshkey, PrimaryKey } from '@freshkey/core'
import {
  AdapterSetupError,
  Binding,
  isRawSqlPolicy,
  markUnsafe,
  type ReadFrame,
  type ReadRecord,
  SchemaGraph,
  sqlWrites,
  trackedQuery,
  type WriteFact,
  wholeTables,
} from '@freshkey/core/adapter'
import { PrismaOptionsError } from './errors.ts'
import type { FreshkeyPrismaOptions } from './options.ts'
import { isRead, prepareRead, readRecords, tablesRead } from './reads.ts'
import { markRecords, resolverFor } from './record-mark.ts'
import { isObject, pkOf, type Row } from './rows.ts'
import { ModelIndex, type ModelInfo, type RuntimeDataModel } from './schema.ts'
import { watchEngine } from './transactions.ts'
import { isWrite, writeFacts } from './writes.ts'

/** What Prisma passes to a `query.$allOperations` hook. */
export interface QueryParams {
  model?: string
  operation: string
  args: any
  query: (args: any) => PromiseLike<unknown>
  __internalParams?: {
    readonly transaction?: { readonly kind?: string; readonly id?: unknown }
    readonly dataPath?: readonly unknown[]
  }
}

/** One `$transaction` call, the handle of its frame: a root, a savepoint (nested), or a batch. */
export interface TxFrame {
  readonly kind: 'itx' | 'batch'
  /** Prisma's interactive transaction id (shared by nested savepoints). */
  txId?: string
  /** The id Prisma gave the batch whose queries record here. */
  batchId?: unknown
}

const GENERATOR =
  'add `generator freshkey { provider = "freshkey-prisma" }` to the schema and run `prisma generate`'

/** The SQL `verify()` sends: the query hook recognises it. */
export const PROBE_SQL = 'SELECT 1 AS freshkey_probe'

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

  constructor(fk: Freshkey, root: object, client: object, options: FreshkeyPrismaOptions) {
    super(fk, root, 'prisma', options)
    this.#mark = options.markRecords ?? true
    if (!isRawSqlPolicy(this.rawSql))
      throw new PrismaOptionsError("`rawSql` must be 'parse', 'all', 'ignore' or a function")
    const rdm = (client as { _runtimeDataModel?: RuntimeDataModel })._runtimeDataModel
    if (!options.metadata)
      throw new AdapterSetupError('prisma', `pass \`metadata\` from the generator: ${GENERATOR}`)
    this.index = new ModelIndex(options.metadata, rdm)
    for (const [name, lists] of Object.entries(options.scopes ?? {})) {
      const model = this.index.model(name)
      if (!model) throw new PrismaOptionsError(`scopes: unknown model "${name}"`)
      fk.defineScope(model.table, lists)
    }
    this.setGraph(new SchemaGraph(this.index.facts()))
    this.transactionSource(() => this.frames.current(this.als.getStore()))
    this.resolver(resolverFor(this.index))
  }

  async onQuery(p: QueryParams): Promise<unknown> {
    const model = p.model === undefined ? undefined : this.index.model(p.model)
    if (this.disposed || (p.model !== undefined && !model)) return p.query(p.args)
    if (!model) return this.#raw(p)
    if (isWrite(p.operation)) return this.#write(model, p)
    const args = (p.args ?? {}) as Row
    const frame = isRead(p.operation) ? this.frame() : undefined
    if (!frame) return this.#marked(model, await p.query(args))
    // The fluent API (`findUnique().posts()`) hands the hook the unpacked relation: read whole.
    const fluent = (p.__internalParams?.dataPath?.length ?? 0) > 0
    const { sent, strip } = fluent
      ? { sent: args, strip() {} }
      : prepareRead(this.index, model, p.operation, args)
    const records = fluent
      ? noRecords
      : (r: unknown) => {
          const out = readRecords(this.index, model, p.operation, sent, r)
          if (p.operation.startsWith('find')) this.#saw(model, r)
          return out
        }
    const result = await this.#tracked(frame, p, tablesRead(this.index, model, args), sent, records)
    strip(result)
    return this.#marked(model, result)
  }

  /**
   * The scheme fields of the records a find returned, remembered (see `Binding.saw`): an update of
   * such a row whose data lacks them fences its conditions at once, checked by the row it returns.
   */
  #saw(model: ModelInfo, result: unknown): void {
    const rows: [PrimaryKey, Row][] = []
    for (const record of Array.isArray(result) ? result : [result]) {
      const pk = isObject(record) ? pkOf(model, record) : undefined
      if (pk !== undefined) rows.push([pk, record as Row])
    }
    this.saw(model.table, rows)
  }

  /** A read inside a load: its tables fenced first, then the load told what it returned (its tables whole if unknown). */
  async #tracked(frame: ReadFrame, p: QueryParams, tables: string[], sent: unknown, records = noRecords) {
    // Rows read inside a transaction may be uncommitted: serve them, never store them.
    if (p.__internalParams?.transaction?.kind === 'itx') markUnsafe(frame)
    const read = (result: unknown) => {
      const out = this.attempt('read', () => records(result)) ?? []
      return out.length > 0 ? out : wholeTables(tables)
    }
    return trackedQuery([frame], tables, false, () => Promise.resolve(p.query(sent)), read)
  }

  /** Where a statement's writes go: its transaction's frame, or nowhere (it commits by itself). */
  #locate(p: QueryParams): { handle?: TxFrame; inTransaction: boolean } {
    const internal = p.__internalParams
    const current = this.als.getStore()
    // Without Prisma's request parameters (another Prisma version) the frame is all there is.
    if (!internal || !('transaction' in internal))
      return { handle: current, inTransaction: current !== undefined }
    const t = internal.transaction
    if (t?.kind === 'itx' && typeof t.id === 'string') {
      // A transaction whose start freshkey did not see: its end is watched on the engine.
      if (!this.itx.has(t.id) && !this.missed.has(t.id) && watchEngine(this.client))
        this.missed.set(t.id, { kind: 'itx', txId: t.id })
      const handle = this.itx.get(t.id) ?? this.missed.get(t.id)
      if (handle) return { handle, inTransaction: true }
      this.report(
        'transaction',
        new Error('a write ran in a transaction freshkey cannot follow: bumped at once'),
      )
    } else if (t?.kind === 'batch' && current?.kind === 'batch') {
      current.batchId ??= t.id
      if (current.batchId === t.id) return { handle: current, inTransaction: true }
    }
    // No transaction, or a batch freshkey did not see start: its results arrive after its COMMIT.
    return { inTransaction: false }
  }

  #facts(model: ModelInfo, op: string, args: Row, result?: unknown): WriteFact[] | undefined {
    const wider = (): WriteFact[] | undefined =>
      result === undefined ? undefined : [{ table: model.table, kind: 'bulk', verb: 'unknown' }]
    return this.attempt('write', () => writeFacts(this.index, model, op, args, result), wider)
  }

  async #write(model: ModelInfo, p: QueryParams): Promise<unknown> {
    const args = (p.args ?? {}) as Row
    const { handle, inTransaction } = this.#locate(p)
    const { sent, strip } = prepareRead(this.index, model, p.operation, args)
    // An update or delete by key outside a transaction: its fence goes out in parallel with it.
    const early =
      !inTransaction && /^(update|delete)$/.test(p.operation) && this.#facts(model, p.operation, args)
    let result: unknown
    // An update returns its row: the scheme fields its data lacks, to check what the fence guessed.
    const returned =
      p.operation === 'update' ? (r: unknown) => this.#facts(model, p.operation, args, r) : undefined
    if (early) result = await this.autocommit(early, () => Promise.resolve(p.query(sent)), returned)
    else {
      result = await p.query(sent)
      await this.record(handle, this.#facts(model, p.operation, args, result) ?? [], inTransaction)
    }
    strip(result)
    return this.#marked(model, result)
  }

  async #raw(p: QueryParams): Promise<unknown> {
    const writes = /^\$executeRaw|^\$runCommandRaw$/.test(p.operation)
    if (!writes && !p.operation.startsWith('$queryRaw')) return p.query(p.args)
    const a = p.args as { strings?: string[]; sql?: string; values?: unknown[] } | unknown[] | undefined
    const text = Array.isArray(a) ? a[0] : (a?.strings?.join('?') ?? a?.sql)
    const sql = typeof text === 'string' ? text : undefined
    const parameters = (Array.isArray(a) ? a.slice(1) : a?.values) ?? []
    if (sql === PROBE_SQL) {
      const { handle } = this.#locate(p)
      this.probe = handle?.txId !== undefined && !this.missed.has(handle.txId)
    }
    const frame = this.frame()
    if (!writes && sql !== undefined && !sqlWrites(sql)) {
      if (!frame) return p.query(p.args)
      return this.#tracked(frame, p, this.rawReadTables(sql), p.args)
    }
    const { handle, inTransaction } = this.#locate(p)
    const result = await p.query(p.args)
    await this.raw(handle, sql, parameters, inTransaction)
    return result
  }

  /** Marks returned records for `fk.keyFor`; marks can fail on frozen results (another extension's doing). */
  #marked(model: ModelInfo, result: unknown): unknown {
    if (this.#mark) this.attempt('mark', () => markRecords(this.index, model, result))
    return result
  }
}

const noRecords = (_result: unknown): ReadRecord[] => []
