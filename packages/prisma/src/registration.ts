import type { Change, Freshkey } from '@freshkey/core'
import { type BeforeImageContext, writeWithBeforeImage } from './before-image.ts'
import { MetadataError, PrismaOptionsError } from './errors.ts'
import { ModelIndex, type ModelInfo, type RuntimeDataModel } from './model-index.ts'
import type { FreshkeyPrismaOptions, RawTables } from './options.ts'
import { rawMayWrite, rawSqlText } from './raw-sql.ts'
import { addIndexToResolver, markRecords } from './record-mark.ts'
import { changedFields, changesFor } from './row-changes.ts'
import { augmentSelection, strip } from './selection.ts'
import { TransactionFrames, type WriteTarget } from './transaction-frames.ts'

type Row = Record<string, unknown>
type AnyClient = Record<string | symbol, any>

/** What Prisma passes to a `query.$allOperations` hook. */
export interface QueryParams {
  model?: string
  operation: string
  args: any
  query: (args: any) => PromiseLike<unknown>
  __internalParams?: unknown
}

const WRITES = new Set([
  'create',
  'createMany',
  'createManyAndReturn',
  'update',
  'updateMany',
  'updateManyAndReturn',
  'upsert',
  'delete',
  'deleteMany',
])
const RETURNS_RECORDS = new Set([
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'create',
  'createManyAndReturn',
  'update',
  'updateManyAndReturn',
  'upsert',
  'delete',
])

/** One `freshkeyPrisma()` on one client: its model index, transaction frames and query hook. */
export class Registration {
  readonly fk: Freshkey
  readonly index: ModelIndex
  readonly frames: TransactionFrames
  readonly #rawTables: RawTables
  readonly #beforeImages: boolean
  readonly #mark: boolean
  readonly #onWarning: (message: string) => void
  readonly #warned = new Set<string>()
  readonly #beforeContext: BeforeImageContext

  constructor(fk: Freshkey, client: AnyClient, options: FreshkeyPrismaOptions) {
    this.fk = fk
    this.#rawTables = options.rawTables ?? 'all'
    if (
      this.#rawTables !== 'all' &&
      typeof this.#rawTables !== 'function' &&
      !Array.isArray(this.#rawTables)
    ) {
      throw new PrismaOptionsError("`rawTables` must be 'all', an array of table names or a function")
    }
    this.#beforeImages = options.beforeImages ?? true
    this.#mark = options.markRecords ?? true
    this.#onWarning = options.onWarning ?? ((m) => console.warn(`[freshkey/prisma] ${m}`))
    const rdm = client._runtimeDataModel as RuntimeDataModel | undefined
    if (options.metadata) {
      this.index = cachedIndex(options.metadata, () => ModelIndex.fromMetadata(options.metadata!))
      if (rdm) checkMatches(this.index, rdm)
    } else {
      if (!rdm)
        throw new MetadataError(
          'this Prisma client has no runtime data model; pass `metadata` from the freshkey-prisma generator',
        )
      this.index = cachedIndex(rdm, () => ModelIndex.fromRuntime(rdm))
      this.warn(
        'no `metadata` from the freshkey-prisma generator: primary and foreign keys are unknown, so every write ' +
          'invalidates whole tables (and the tables related to it). Add `generator freshkey { provider = "freshkey-prisma" }`.',
      )
    }
    this.frames = new TransactionFrames(fk, (e) => this.report(e))
    this.#beforeContext = { index: this.index, base: client, report: (e) => this.report(e) }
    addIndexToResolver(fk, this.index)
    for (const [name, lists] of Object.entries(options.scopes ?? {})) {
      const model = this.index.model(name)
      if (!model) throw new PrismaOptionsError(`scopes: unknown model "${name}"`)
      fk.defineScope(model.table, lists)
    }
  }

  warn(message: string): void {
    if (this.#warned.has(message)) return
    this.#warned.add(message)
    this.#onWarning(message)
  }

  /** Once per kind of error (its code or class), so a recurring failure does not flood the log. */
  report(error: unknown): void {
    const e = error as { code?: unknown; name?: unknown; message?: unknown } | undefined
    const kind = String(e?.code ?? e?.name ?? 'error')
    if (this.#warned.has(kind)) return
    this.#warned.add(kind)
    this.#onWarning(
      `cache trouble (${kind}), invalidating more widely instead: ${String(e?.message ?? error)}`,
    )
  }

  /** The `query.$allOperations` hook. */
  async onQuery(p: QueryParams): Promise<unknown> {
    if (!p.model) return this.#raw(p)
    const model = this.index.model(p.model)
    if (!model) return p.query(p.args)
    if (!WRITES.has(p.operation)) {
      const result = await p.query(p.args)
      if (this.#mark && RETURNS_RECORDS.has(p.operation)) this.#markSafely(model, result)
      return result
    }
    return this.#write(model, p)
  }

  /** Marks can fail on frozen results (another extension's doing); the write has committed by then. */
  #markSafely(model: ModelInfo, result: unknown): void {
    try {
      markRecords(this.index, model, result)
    } catch (error) {
      this.report(error)
    }
  }

  async #raw(p: QueryParams): Promise<unknown> {
    if (!rawMayWrite(p.operation, p.args)) return p.query(p.args)
    const target = this.#locate(p)
    const result = await p.query(p.args)
    let tables: readonly string[]
    try {
      const rule = this.#rawTables
      const chosen = typeof rule === 'function' ? rule(rawSqlText(p.operation, p.args) ?? '') : rule
      tables = chosen === 'all' ? this.index.allTables() : chosen
    } catch (error) {
      this.report(error)
      tables = this.index.allTables()
    }
    await this.#publish(
      target,
      tables.map((table) => ({ table, kind: 'bulk' as const })),
    )
    return result
  }

  #locate(p: QueryParams): WriteTarget {
    const target = this.frames.locate(p.__internalParams)
    if (target.mode === 'foreign') {
      this.warn(
        'a write ran in a transaction freshkey did not see start (is $transaction overridden by an extension applied ' +
          'after freshkey?): it is invalidated right after the statement, before that transaction commits.',
      )
    }
    return target
  }

  async #write(model: ModelInfo, p: QueryParams): Promise<unknown> {
    const target = this.#locate(p)
    const args = (p.args ?? {}) as Row
    const scoped = this.index.precise ? this.fk.scopedFields(model.table) : []
    const { sent, added } = this.index.precise
      ? augmentSelection(model, p.operation, args, scoped)
      : { sent: args, added: [] }
    const wantsBefore =
      this.#beforeImages &&
      scoped.length > 0 &&
      (target.mode === 'auto' || (target.mode === 'tx' && target.frame.kind === 'itx')) &&
      // An update that sets no scoped or key field moves no row between scopes; an upsert may be an insert.
      (p.operation === 'upsert' ||
        (p.operation === 'update' &&
          changedFields(model, args.data).some((f) => scoped.includes(f) || model.pk.includes(f))))
    const outcome = wantsBefore
      ? await writeWithBeforeImage(
          this.#beforeContext,
          model,
          scoped,
          sent,
          p.query,
          target,
          p.operation as 'update' | 'upsert',
        )
      : { result: await p.query(sent) }
    let changes: Change[]
    try {
      changes = changesFor(this.index, model, { operation: p.operation, args, ...outcome })
    } catch (error) {
      this.report(error)
      changes = [model.table, ...this.index.related(model)].map((table) => ({ table, kind: 'bulk' as const }))
    }
    await this.#publish(target, changes)
    const result = outcome.result
    if (added.length > 0) strip(result, added)
    if (this.#mark && RETURNS_RECORDS.has(p.operation)) this.#markSafely(model, result)
    return result
  }

  async #publish(target: WriteTarget, changes: Change[]): Promise<void> {
    if (changes.length === 0) return
    if (target.mode === 'tx') {
      const late: Change[] = []
      for (const change of changes) {
        try {
          target.frame.tx.record(change)
        } catch (error) {
          this.report(error)
          const bulk: Change = { table: change.table, kind: 'bulk' }
          try {
            target.frame.tx.record(bulk)
          } catch {
            late.push(bulk)
          }
        }
      }
      if (late.length > 0) await this.#bumpNow(late)
      return
    }
    await this.#bumpNow(changes)
  }

  /** Bumps at once (the write already committed). Never throws: trouble widens the invalidation. */
  async #bumpNow(changes: Change[]): Promise<void> {
    try {
      await this.fk.changed(...changes)
    } catch (error) {
      this.report(error)
      try {
        await this.fk.changed(
          ...[...new Set(changes.map((c) => c.table))].map((table) => ({ table, kind: 'bulk' as const })),
        )
      } catch {
        await this.fk.invalidateAll().catch(() => {})
      }
    }
  }
}

const indexes = new WeakMap<object, ModelIndex>()

/** One index per metadata object, so many clients of one schema share it (and the resolver's list stays short). */
function cachedIndex(source: object, build: () => ModelIndex): ModelIndex {
  let index = indexes.get(source)
  if (!index) {
    index = build()
    indexes.set(source, index)
  }
  return index
}

/** Stale generator output names other tables than the client: refuse it rather than invalidate the wrong keys. */
function checkMatches(index: ModelIndex, rdm: RuntimeDataModel): void {
  for (const [name, m] of Object.entries(rdm.models)) {
    const info = index.model(name)
    const table = m.dbName ?? name
    if (!info || info.bareTable !== table) {
      throw new MetadataError(
        `the freshkey metadata does not match this client (model ${name}${info ? `: table ${info.bareTable} vs ${table}` : ' missing'}); run \`prisma generate\` again`,
      )
    }
  }
}
