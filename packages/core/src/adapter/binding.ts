import type { Change } from '../change.ts'
import { canonicalPk, type PrimaryKey } from '../dependency.ts'
import type { Freshkey } from '../freshkey.ts'
import { addResolver, internalsOf } from '../freshkey.ts'
import type { EntityResolver } from '../resolver.ts'
import { scopeValue } from '../scope-value.ts'
import type { ReadFrame } from '../tracking.ts'
import type { Transaction } from '../transaction.ts'
import { AdapterDisposedError } from './errors.ts'
import { TransactionFrames } from './frames.ts'
import { type RawSqlPolicy, rawReadTables, rawSqlFacts } from './raw-sql.ts'
import { SchemaGraph } from './schema-graph.ts'
import { StatementCache } from './statement-cache.ts'
import { bulkFacts, changesOf, compact, type WriteFact } from './write-facts.ts'

/** Options every adapter accepts. */
export interface BindingOptions {
  /** Raw SQL attribution (see {@link RawSqlPolicy}). Default `'parse'`. */
  rawSql?: RawSqlPolicy
  /**
   * Also receives the errors the adapter swallowed so a database write never fails for the cache.
   * They are always counted in `fk.stats().adapterErrors`, published on `freshkey:error` and logged once.
   */
  onError?: (error: unknown) => void
}

const BINDINGS = Symbol.for('freshkey.bindings')

/** Most rows whose last returned scheme fields a binding remembers (then it starts over). */
const IMAGE_ROWS = 10_000

const rowId = (table: string, pk: PrimaryKey) => `${table}\u0000${canonicalPk(pk)}`

/** True when the fields a guess added to `fact`'s image hold the values the row returned. */
function sameGuess(guess: WriteFact, fact: WriteFact, actual: WriteFact): boolean {
  const g = guess.kind === 'update' ? guess.after : undefined
  const a = actual.kind === 'update' ? actual.after : undefined
  const own = fact.kind === 'update' ? fact.after : undefined
  if (!g || !a) return false
  for (const f of Object.keys(g)) {
    if (own && Object.hasOwn(own, f)) continue
    if (!Object.hasOwn(a, f) || scopeValue(a[f]) !== scopeValue(g[f])) return false
  }
  return true
}

/**
 * freshkey attached to one ORM client: the one object per (client, freshkey instance) that holds
 * the transaction frames, the schema graph and the recorder, and reports every swallowed error
 * through one place. Adapters translate ORM events into {@link WriteFact}s and reads into
 * `ReadRecord`s; every rule about what to bump lives here and in core.
 */
export class Binding<H extends object = object> {
  readonly fk: Freshkey
  readonly adapter: string
  readonly client: object
  readonly frames: TransactionFrames<H>
  readonly rawSql: RawSqlPolicy
  #graph: SchemaGraph = new SchemaGraph({ tables: [], foreignKeys: [] })
  readonly #onError: ((error: unknown) => void) | undefined
  readonly #cleanup: (() => void)[] = []
  readonly #rawFacts = new StatementCache<WriteFact[]>()
  readonly #rawReads = new StatementCache<string[]>()
  /** Scheme fields of rows as a read or update last returned them (guesses, checked by the next update). */
  readonly #images = new Map<string, Record<string, unknown>>()
  #disposed = false

  constructor(fk: Freshkey, client: object, adapter: string, options: BindingOptions = {}) {
    this.fk = fk
    this.adapter = adapter
    this.client = client
    this.rawSql = options.rawSql ?? 'parse'
    this.#onError = options.onError
    this.frames = new TransactionFrames<H>(
      () => fk.transaction(),
      () =>
        this.report(
          'transaction',
          new Error(
            'a write ran in a transaction whose start freshkey did not see; it is bumped at that transaction’s end',
          ),
        ),
    )
  }

  /**
   * The binding of `client` and `fk`, made with `create` the first time: registering an adapter
   * twice returns the first registration, so events are never counted twice. The registry lives on
   * the client object, so it holds across copies of this package (ESM and CommonJS builds).
   */
  static for<B extends Binding<any>>(fk: Freshkey, client: object, create: () => B): B {
    const holder = client as Record<symbol, Map<Freshkey, Binding<any>> | undefined>
    let map = holder[BINDINGS]
    if (!map) {
      map = new Map()
      Object.defineProperty(client, BINDINGS, { value: map, configurable: true })
    }
    const existing = map.get(fk)
    if (existing && !existing.disposed) return existing as B
    const binding = create()
    map.set(fk, binding)
    binding.#cleanup.push(() => {
      if (map.get(fk) === binding) map.delete(fk)
    })
    return binding
  }

  /** The bindings on a client (for hooks patched once per ORM copy). */
  static on(client: object): Binding<any>[] {
    const map = (client as Record<symbol, Map<Freshkey, Binding<any>> | undefined>)[BINDINGS]
    return map ? [...map.values()].filter((b) => !b.disposed) : []
  }

  get disposed(): boolean {
    return this.#disposed
  }

  /** Throws `AdapterDisposedError` after `dispose()`. */
  live(): void {
    if (this.#disposed) throw new AdapterDisposedError(this.adapter)
  }

  get graph(): SchemaGraph {
    return this.#graph
  }

  /** Replaces the schema facts (at registration, and when the ORM rebuilds its metadata). */
  setGraph(graph: SchemaGraph): void {
    this.#graph = graph
    this.#rawFacts.clear()
    this.#rawReads.clear()
  }

  /** Registers how `keyFor` and `dep.scope` read this ORM's entities; undone by `dispose()`. */
  resolver(resolver: EntityResolver): void {
    this.#cleanup.push(addResolver(this.fk, resolver))
  }

  /** Tells core how to find the transaction of the calling code; undone by `dispose()`. */
  transactionSource(source: () => Transaction | undefined): void {
    const sources = internalsOf(this.fk).sources
    const guarded = () => (this.#disposed ? undefined : source())
    sources.push(guarded)
    this.#cleanup.push(() => {
      const i = sources.indexOf(guarded)
      if (i >= 0) sources.splice(i, 1)
    })
  }

  /** Runs on `dispose()`. */
  onDispose(fn: () => void): void {
    this.#cleanup.push(fn)
  }

  /** Reports an error the adapter swallowed (counted, published, logged once, and given to `onError`). */
  report(operation: string, error: unknown): void {
    try {
      internalsOf(this.fk).reporter.adapter(`${this.adapter}:${operation}`, error)
      this.#onError?.(error)
    } catch {
      // A throwing error callback must not fail the write either.
    }
  }

  /** `run()`, or `fallback()` when it throws (the error reported under `operation`): cache trouble never fails the ORM call. */
  attempt<T, F = undefined>(operation: string, run: () => T, fallback?: () => F): T | F {
    try {
      return run()
    } catch (error) {
      this.report(operation, error)
      return fallback?.() as F
    }
  }

  /** The write facts `build` gives; when it throws, `table` (unknown: every table) in bulk. */
  factsOf(operation: string, table: string | undefined, build: () => WriteFact[]): WriteFact[] {
    return this.attempt(operation, build, () => bulkFacts(table !== undefined ? [table] : this.#graph.tables))
  }

  /** The changes of some write facts; what cannot be worked out widens to the facts' tables. */
  changes(facts: readonly WriteFact[]): Change[] {
    try {
      return compact(facts.flatMap((f) => changesOf(this.#graph, f)))
    } catch (error) {
      this.report('changes', error)
      return compact(facts.map((f) => ({ table: f.table, kind: 'bulk' as const })))
    }
  }

  /**
   * Records what a statement wrote: into the open transaction of `handle` (bumped at its commit),
   * else bumped now (the statement has committed). Never rejects.
   */
  async record(handle: H | undefined, facts: readonly WriteFact[], inTransaction = false): Promise<void> {
    if (this.#disposed || facts.length === 0) return
    const changes = this.changes(facts)
    const tx = this.frames.recording(handle, inTransaction)
    if (tx) {
      for (const change of changes) this.#recordInto(tx, change)
      return
    }
    await this.#bumpNow(changes)
  }

  /**
   * Fields of the updates in `facts` that their tables' schemes filter on and their images lack,
   * by table: what a statement should return so its bumps name conditions (see
   * {@link Binding.autocommit}'s `returned`). Empty when nothing is missing.
   */
  imageFields(facts: readonly WriteFact[]): Map<string, string[]> {
    const out = new Map<string, string[]>()
    if (this.#disposed) return out
    const planner = internalsOf(this.fk).planner
    for (const f of facts) {
      if (f.kind !== 'update' || !f.changed || f.newPk !== undefined) continue
      const missing = planner.missingFields(f.table, f.changed, f.after ?? {})
      if (missing.length > 0) out.set(f.table, [...new Set([...(out.get(f.table) ?? []), ...missing])])
    }
    return out
  }

  /**
   * Runs an autocommit statement whose rows are known before it runs, with their fence sent in
   * parallel (no store round trip after it). Rejects only with the statement's own error.
   *
   * `returned` gives the update facts of the rows the statement returned (images with the fields
   * {@link Binding.imageFields} named), undefined when it could not return them. Then an update
   * whose image lacks scheme fields bumps the conditions its rows are in, not a field-wide key:
   * fenced by the values this process last saw the row return (the fields the write did not
   * change), checked against the rows returned; where the guess was wrong (another process moved
   * the row) or there was none, the conditions are bumped before this resolves, as a plain bump
   * after a commit (one store round trip, once per row until this process has seen it).
   */
  async autocommit<R>(
    facts: readonly WriteFact[],
    run: () => Promise<R>,
    returned?: (result: R) => readonly WriteFact[] | undefined,
  ): Promise<R> {
    if (this.#disposed || facts.length === 0) return run()
    const sent = returned
      ? facts.map((f) =>
          this.attempt(
            'write',
            () => this.#guess(f),
            () => f,
          ),
        )
      : facts
    const fence = internalsOf(this.fk).bumper.fence(this.changes(sent))
    let result: R
    try {
      result = await run()
    } catch (error) {
      fence.settle(false).catch(() => {})
      throw error
    }
    await fence.ready
    await fence.settle(true)
    if (returned) {
      try {
        await this.#check(
          facts,
          sent,
          this.attempt('write', () => returned(result)),
        )
      } catch (error) {
        // Whatever went wrong, the bump of the write's own facts is never wrong.
        this.report('write', error)
        await this.#bumpNow(this.changes(facts))
      }
    }
    return result
  }

  /**
   * What to fence for `fact`: with the unchanged fields it lacks from the row's last returned
   * image; without its scheme bumps (`changed: []`) when that still lacks some, so the bump of
   * the conditions waits for the rows returned instead of widening.
   */
  #guess(fact: WriteFact): WriteFact {
    if (fact.kind !== 'update' || !fact.changed || fact.newPk !== undefined) return fact
    const planner = internalsOf(this.fk).planner
    const missing = planner.missingFields(fact.table, fact.changed, fact.after ?? {})
    if (missing.length === 0) return fact
    const known = this.#images.get(rowId(fact.table, fact.pk))
    const after: Record<string, unknown> = { ...fact.after }
    // Only fields the statement returns: each one guessed is checked against the row.
    for (const f of missing)
      if (known && Object.hasOwn(known, f) && !fact.changed.includes(f)) after[f] = known[f]
    if (missing.some((f) => !Object.hasOwn(after, f))) return { ...fact, changed: [] }
    return { ...fact, after }
  }

  /**
   * Remembers the scheme fields of rows a tracked read returned (`rows`: key and field values, as
   * the adapter's write facts name them; other fields are dropped here), so the next autocommit update of such a row, whose SET
   * lacks them, fences its conditions at once instead of bumping them after the statement. A guess
   * is still checked against the row the update returns. Never throws.
   */
  saw(table: string, rows: readonly (readonly [PrimaryKey, Readonly<Record<string, unknown>>])[]): void {
    if (this.#disposed || rows.length === 0) return
    this.attempt('read', () => {
      const keep = this.schemeFields(table)
      // A table no scheme filters gives nothing to guess: nothing remembered.
      if (keep.size === 0) return
      for (const [pk, image] of rows) this.#learn(rowId(table, pk), keep, image)
    })
  }

  /** The fields the schemes of `table` filter on (what {@link Binding.saw} keeps of a row). */
  schemeFields(table: string): ReadonlySet<string> {
    return internalsOf(this.fk).planner.fieldsOf(table)
  }

  #learn(id: string, keep: ReadonlySet<string>, values: Readonly<Record<string, unknown>>): void {
    // A table no scheme filters gives nothing to guess: nothing remembered.
    if (keep.size === 0) return
    const image: Record<string, unknown> = { ...this.#images.get(id) }
    for (const [k, v] of Object.entries(values)) if (keep.has(k) && v !== undefined) image[k] = v
    if (this.#images.size >= IMAGE_ROWS) this.#images.clear()
    this.#images.set(id, image)
  }

  /** Learns the rows returned and bumps again where a guess sent with the fence was wrong. */
  async #check(
    facts: readonly WriteFact[],
    sent: readonly WriteFact[],
    given: readonly WriteFact[] | undefined,
  ): Promise<void> {
    // Rows the adapter could not read back as updates (a fallback bulk fact): as if none returned.
    const returned = given?.some((f) => f.kind !== 'update' || !f.after) ? undefined : given
    const byRow = new Map<string, WriteFact>()
    const kept = new Map<string, ReadonlySet<string>>()
    for (const f of returned ?? []) {
      if (f.kind !== 'update' || !f.after) continue
      const id = rowId(f.table, f.pk)
      byRow.set(id, f)
      const keep = kept.get(f.table) ?? this.schemeFields(f.table)
      kept.set(f.table, keep)
      this.#learn(id, keep, f.after)
    }
    const due: WriteFact[] = []
    for (let i = 0; i < sent.length; i++) {
      const guess = sent[i]!
      if (guess === facts[i] || guess.kind !== 'update') continue
      if (!returned) return this.#bumpNow(this.changes(facts))
      // A row the statement did not return was not written: nothing to bump for it.
      const actual = byRow.get(rowId(guess.table, guess.pk))
      if (actual && (guess.changed?.length === 0 || !sameGuess(guess, facts[i]!, actual))) due.push(actual)
    }
    if (due.length > 0) await this.#bumpNow(this.changes(due))
  }

  /** Records a raw statement by the raw-SQL policy (see {@link Binding.rawFacts}). Never rejects. */
  async raw(
    handle: H | undefined,
    sql: string | undefined,
    parameters: readonly unknown[],
    inTransaction = false,
  ): Promise<void> {
    await this.record(handle, this.rawFacts(sql, parameters), inTransaction)
  }

  /**
   * The write facts of a raw statement by the raw-SQL policy, parsed once per statement text; a
   * statement whose text is unknown writes every table (nothing under `'ignore'`).
   */
  rawFacts(sql: string | undefined, parameters: readonly unknown[]): WriteFact[] {
    const policy = this.rawSql
    const all = () => bulkFacts(this.#graph.tables)
    return this.attempt(
      'raw',
      () => {
        if (sql === undefined) return policy === 'ignore' ? [] : all()
        const parse = () => rawSqlFacts(this.#graph, sql, parameters, policy)
        return typeof policy === 'function' ? parse() : this.#rawFacts.get(sql, parse)
      },
      all,
    )
  }

  /** The tables a raw read depends on (see {@link rawReadTables}), parsed once per statement text. */
  rawReadTables(sql: string | undefined): string[] {
    return sql === undefined
      ? [...this.#graph.tables]
      : [...this.#rawReads.get(sql, () => rawReadTables(this.#graph, sql))]
  }

  /** The read frame of the calling code (a loader inside `fk.wrap`, `fk.cached` or a result cache), if any. */
  frame(): ReadFrame | undefined {
    return this.#disposed ? undefined : internalsOf(this.fk).values.frame
  }

  #recordInto(tx: Transaction, change: Change): void {
    try {
      tx.record(change)
    } catch (error) {
      this.report('record', error)
      try {
        tx.record({ table: change.table, kind: 'bulk' })
      } catch (again) {
        this.report('record', again)
      }
    }
  }

  async #bumpNow(changes: Change[]): Promise<void> {
    try {
      await this.fk.changed(...changes)
    } catch (error) {
      this.report('bump', error)
      try {
        await this.fk.changed(...compact(changes.map((c) => ({ table: c.table, kind: 'bulk' as const }))))
      } catch (again) {
        this.report('bump', again)
      }
    }
  }

  /** Stops recording; undoes the resolver and transaction source. Idempotent. */
  dispose(): void {
    if (this.#disposed) return
    this.#disposed = true
    for (const off of this.#cleanup.splice(0).reverse()) {
      try {
        off()
      } catch (error) {
        this.report('dispose', error)
      }
    }
  }
}
