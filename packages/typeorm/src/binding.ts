import { type Freshkey, scopesOf } from '@freshkey/core'
import {
  AdapterInactiveError,
  AdapterSetupError,
  Binding,
  type BindingOptions,
  type ForeignKeyFact,
  SchemaGraph,
  sqlTablesRead,
  type Transaction,
} from '@freshkey/core/adapter'
import type {
  DataSource,
  EntityManager,
  EntityMetadata,
  EntityTarget,
  ObjectLiteral,
  QueryRunner,
} from 'typeorm'
import { createEntityResolver, metadataOfTarget } from './entity-resolver.ts'
import { installHooks, keepSubscriber } from './hooks.ts'
import { dataSourceOf, runnerOf, sharedRunner, transactionContext } from './internals.ts'
import { readContext } from './reads.ts'
import { createSubscriber, type FreshkeySubscriber, plainLoadListener } from './subscriber.ts'

/** Options of {@link freshkeyTypeORM}: the kit's `rawSql` policy (`'parse'` default) and `onError`. */
export type FreshkeyTypeORMOptions = BindingOptions

/**
 * freshkey bound to one TypeORM data source: the subscriber and hooks report every write, the
 * transaction frames (one stack per query runner) bump once per outermost commit, fenced in
 * parallel with it, and reads inside `fk.wrap` / `fk.cached` / the query result cache record what
 * they read. Made by {@link freshkeyTypeORM}.
 */
export class TypeORMBinding extends Binding<QueryRunner> {
  readonly dataSource: DataSource
  readonly #subscriber: FreshkeySubscriber
  readonly #plain = new WeakMap<object, EntityMetadata>()
  #scanned: readonly EntityMetadata[] | undefined
  #views = new Map<string, readonly string[]>()
  #resolving = false
  /** Query runners whose transaction events reached the subscriber (for `verify()`). */
  readonly seen = new WeakSet<QueryRunner>()

  constructor(dataSource: DataSource, fk: Freshkey, options: FreshkeyTypeORMOptions) {
    super(fk, dataSource, 'typeorm', options)
    this.dataSource = dataSource
    this.#subscriber = createSubscriber(this)
    this.transactionSource(() => this.#currentTransaction())
  }

  /** True while the subscriber sits in `dataSource.subscribers` (TypeORM delivers events only to those). */
  get active(): boolean {
    return !this.disposed && this.dataSource.subscribers.includes(this.#subscriber)
  }

  /** Reads the schema graph, scopes and views once per metadata build (`initialize()` rebuilds it). */
  scan(): void {
    const metadatas = this.dataSource.entityMetadatas
    if (this.disposed || this.#scanned === metadatas || metadatas.length === 0) return
    this.#scanned = metadatas
    const foreignKeys: ForeignKeyFact[] = []
    for (const md of metadatas) {
      const lists = typeof md.target === 'function' ? scopesOf(md.target) : undefined
      if (lists) this.fk.defineScope(md.tableName, lists)
      for (const f of md.foreignKeys) {
        if (!f.referencedEntityMetadata) continue
        foreignKeys.push({
          table: md.tableName,
          columns: f.columns.map((c) => c.propertyPath),
          references: f.referencedEntityMetadata.tableName,
          referencedColumns: f.referencedColumns.map((c) => c.propertyPath),
          ...(f.onDelete ? { onDelete: f.onDelete } : {}),
          ...(f.onUpdate ? { onUpdate: f.onUpdate } : {}),
        })
      }
    }
    const tables = metadatas.map((md) => ({
      name: md.tableName,
      primaryKey: md.primaryColumns.map((c) => c.propertyPath),
    }))
    this.setGraph(new SchemaGraph({ tables, foreignKeys }))
    this.#views = viewTables(this.dataSource, metadatas)
    const plain = metadatas.some((md) => typeof md.target !== 'function' && md.tableType !== 'junction')
    this.#subscriber.afterLoad = plain ? plainLoadListener(this) : undefined
    // The resolver arrives with the metadata, so scopes declared on classes before initialize() resolve now.
    if (!this.#resolving) {
      this.#resolving = true
      this.resolver(createEntityResolver(this))
    }
  }

  /** The tables a view reads (a table reads itself). */
  tablesOf(table: string): readonly string[] {
    return this.#views.get(table) ?? [table]
  }

  /**
   * Proves events arrive: starts and rolls back an empty transaction on a new query runner and
   * checks the subscriber saw it. Throws `AdapterInactiveError` otherwise.
   */
  async verify(): Promise<void> {
    this.live()
    if (!this.active)
      throw new AdapterInactiveError('typeorm', 'the freshkey subscriber is not in dataSource.subscribers')
    if (!this.dataSource.isInitialized)
      throw new AdapterInactiveError('typeorm', 'initialize() the data source before verify()')
    const runner = this.dataSource.createQueryRunner()
    // A shared connection (SQLite drivers) inside someone's transaction: do not nest a probe into it.
    if (runner.isTransactionActive) return
    try {
      await runner.startTransaction()
      await runner.rollbackTransaction()
    } finally {
      await runner.release()
    }
    if (!this.seen.has(runner))
      throw new AdapterInactiveError(
        'typeorm',
        'a probe transaction did not reach the freshkey subscriber: TypeORM is not delivering its events',
      )
  }

  /** Runs `fn` as code inside the transaction of a query runner driven by hand (`startTransaction()` ...). */
  runInTransaction<T>(queryRunner: QueryRunner, fn: () => T): T {
    return transactionContext.run(queryRunner, fn)
  }

  /**
   * Declares that rows of these tables (names or entity targets) changed in a way the adapter
   * cannot see: raw SQL on a query runner, triggers, other programs. Recorded in the transaction of
   * `via` when it is in one, else bumped now.
   */
  async changed(
    targets: readonly (string | EntityTarget<ObjectLiteral>)[],
    via?: EntityManager | QueryRunner,
  ): Promise<void> {
    this.live()
    this.scan()
    const runner = via && 'isTransactionActive' in via ? via : (via as EntityManager | undefined)?.queryRunner
    const facts = targets.map((target) => {
      const table =
        typeof target === 'string' && this.graph.tables.has(target)
          ? target
          : (this.tableOf(target) ?? target)
      if (typeof table !== 'string') throw new TypeError('changed(): unknown entity target')
      return { table, kind: 'bulk' as const }
    })
    const used = runnerOf(this.dataSource, runner)
    await this.record(used, facts, used?.isTransactionActive === true)
  }

  /** The database table of an entity class, EntitySchema or entity name. */
  tableOf(target: EntityTarget<ObjectLiteral>): string | undefined {
    return metadataOfTarget(this.dataSource, target)?.tableName
  }

  /** Remembers the metadata of an entity that is a plain object (an EntitySchema without a class). */
  tagPlain(entity: unknown, metadata: EntityMetadata): void {
    if (typeof entity === 'object' && entity !== null && typeof metadata.target !== 'function')
      this.#plain.set(entity, metadata)
  }

  plainMetadata(entity: object): EntityMetadata | undefined {
    return this.#plain.get(entity)
  }

  /**
   * The transaction of the calling code: the runner of the enclosing `transaction(fn)`, of the
   * query being read, or the one shared connection of SQLite drivers while it is in a transaction
   * (every read there sees its uncommitted writes).
   */
  #currentTransaction(): Transaction | undefined {
    const runner =
      transactionContext.getStore() ?? readContext.getStore()?.runner ?? sharedRunner(this.dataSource)
    if (!runner?.isTransactionActive || dataSourceOf(runner as never) !== this.dataSource) return undefined
    return this.frames.recording(runner, true)
  }

  override dispose(): void {
    if (this.disposed) return
    super.dispose()
    keepSubscriber(this.dataSource, this.#subscriber, false)
  }

  /** @internal Places the subscriber (kept across `initialize()`). */
  attach(): void {
    keepSubscriber(this.dataSource, this.#subscriber, true)
  }
}

function viewTables(ds: DataSource, metadatas: readonly EntityMetadata[]): Map<string, readonly string[]> {
  const known = new Set(metadatas.filter((md) => md.tableType !== 'view').map((md) => md.tableName))
  const byName = new Map(metadatas.map((md) => [md.tableName, md]))
  const views = new Map<string, readonly string[]>()
  const expand = (md: EntityMetadata, depth: number): string[] => {
    const expr = md.expression
    let sql = ''
    try {
      sql = typeof expr === 'string' ? expr : expr ? expr(ds).getQuery() : ''
    } catch {}
    const all = new Set([...known, ...byName.keys()])
    const found = sql ? sqlTablesRead(sql, all) : [...known]
    return found.flatMap((t) => {
      const inner = byName.get(t)
      return inner?.tableType === 'view' && depth < 8 ? expand(inner, depth + 1) : [t]
    })
  }
  for (const md of metadatas)
    if (md.tableType === 'view') views.set(md.tableName, [...new Set(expand(md, 0))])
  return views
}

/**
 * Binds freshkey to a TypeORM data source (TypeORM `^0.3.20 || ^1`): every committed write bumps
 * what it changed, once, fenced in parallel with its COMMIT, and reads inside `fk.wrap`,
 * `fk.cached` and `freshkeyQueryResultCache` depend on exactly what they read. Call it before or
 * after `dataSource.initialize()`. Calling it again with the same data source and freshkey
 * instance returns the same binding (later options are ignored), so events are never counted twice.
 */
export function freshkeyTypeORM(
  dataSource: DataSource,
  fk: Freshkey,
  options: FreshkeyTypeORMOptions = {},
): TypeORMBinding {
  const type = String(dataSource?.options?.type)
  if (type === 'mongodb') throw new AdapterSetupError('typeorm', 'the "mongodb" driver is not supported')
  return Binding.for(fk, dataSource, () => {
    installHooks(dataSource)
    const binding = new TypeORMBinding(dataSource, fk, options)
    binding.attach()
    binding.scan()
    if (!binding.active) {
      binding.dispose()
      throw new AdapterInactiveError(
        'typeorm',
        'could not place the freshkey subscriber in dataSource.subscribers',
      )
    }
    return binding
  })
}

/** The live bindings of a data source (hooks patched once per TypeORM copy serve every one). */
export function bindingsOf(dataSource: DataSource | undefined): TypeORMBinding[] {
  if (!dataSource) return []
  const list = Binding.on(dataSource) as TypeORMBinding[]
  for (const b of list) b.scan()
  return list
}
