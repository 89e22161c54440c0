import { type Freshkey, scopesOf } from '@freshkey/core'
import * as kit from '@freshkey/core/adapter'
import type { DataSource, EntityManager, EntityMetadata, EntityTarget, QueryRunner } from 'typeorm'
import { installHooks, keepSubscriber } from './hooks.ts'
import { isEntitySchema, runnerOf, transactionContext } from './internals.ts'
import { readContext } from './reads.ts'
import { pkOf } from './row-image.ts'
import { createSubscriber, type FreshkeySubscriber, plainLoadListener } from './subscriber.ts'

type Target = EntityTarget<object>
const inactive = (why: string) => new kit.AdapterInactiveError('typeorm', why)

/** Options of {@link freshkeyTypeORM}: the kit's raw-SQL policy (`rawSql`, default `'parse'`) and `onError`. */
export type FreshkeyTypeORMOptions = kit.BindingOptions

/**
 * freshkey bound to one TypeORM data source: the subscriber and hooks report every write, the
 * transaction frames (one stack per query runner) bump once per outermost commit, fenced in
 * parallel with it, and reads inside `fk.wrap`, `fk.cached` and the query result cache record
 * what they read. Made by {@link freshkeyTypeORM}.
 */
export class TypeORMBinding extends kit.Binding<QueryRunner> {
  readonly dataSource: DataSource
  /** Query runners whose transaction events reached the subscriber (for `verify()`). */
  readonly seen = new WeakSet<QueryRunner>()
  readonly #subscriber: FreshkeySubscriber
  readonly #plain = new WeakMap<object, EntityMetadata>()
  #scanned: readonly EntityMetadata[] | undefined
  #views = new Map<string, readonly string[]>()

  /** @internal Use {@link freshkeyTypeORM}. */
  constructor(dataSource: DataSource, fk: Freshkey, options: FreshkeyTypeORMOptions) {
    super(fk, dataSource, 'typeorm', options)
    this.dataSource = dataSource
    this.#subscriber = createSubscriber(this)
    keepSubscriber(dataSource, this.#subscriber, true)
    this.onDispose(() => keepSubscriber(dataSource, this.#subscriber, false))
    this.transactionSource(() => {
      // The runner of the enclosing `transaction(fn)`, of the query being read, or SQLite's one shared
      // connection while it is in a transaction (every read there sees its uncommitted writes).
      const runner = runnerOf(dataSource, transactionContext.getStore() ?? readContext.getStore()?.runner)
      const inside = runner?.isTransactionActive && runner.connection === dataSource
      return inside ? this.frames.recording(runner, true) : undefined
    })
  }

  /** True while the subscriber sits in `dataSource.subscribers` (TypeORM delivers events only to those). */
  get active(): boolean {
    return !this.disposed && this.dataSource.subscribers.includes(this.#subscriber)
  }

  /** Reads the schema graph, scopes and views once per metadata build (`initialize()` rebuilds it). */
  scan(): void {
    const metadatas = this.dataSource.entityMetadatas
    if (this.disposed || this.#scanned === metadatas || metadatas.length === 0) return
    const first = this.#scanned === undefined
    this.#scanned = metadatas
    for (const md of metadatas) {
      const lists = typeof md.target === 'function' ? scopesOf(md.target) : undefined
      if (lists) this.fk.defineScope(md.tableName, lists)
    }
    const names = (cols: readonly { propertyPath: string }[]) => cols.map((c) => c.propertyPath)
    this.setGraph(
      new kit.SchemaGraph({
        tables: metadatas.map((md) => ({ name: md.tableName, primaryKey: names(md.primaryColumns) })),
        foreignKeys: metadatas.flatMap((md) =>
          md.foreignKeys
            .filter((f) => f.referencedEntityMetadata)
            .map((f) => ({
              table: md.tableName,
              columns: names(f.columns),
              references: f.referencedEntityMetadata.tableName,
              referencedColumns: names(f.referencedColumns),
              ...(f.onDelete && { onDelete: f.onDelete }),
              ...(f.onUpdate && { onUpdate: f.onUpdate }),
            })),
        ),
      }),
    )
    const sqlOf = (md: EntityMetadata) => {
      try {
        return typeof md.expression === 'string' ? md.expression : md.expression?.(this.dataSource).getQuery()
      } catch {}
    }
    const views = metadatas
      .filter((md) => md.tableType === 'view')
      .map((md) => [md.tableName, sqlOf(md)] as const)
    this.#views = kit.viewTables(new Map(views), this.graph.tables)
    const plain = metadatas.some((md) => typeof md.target !== 'function' && md.tableType !== 'junction')
    this.#subscriber.afterLoad = plain ? plainLoadListener(this) : undefined
    // The resolver arrives with the metadata, so scopes declared on classes before initialize() resolve now.
    if (first) this.resolver({ identify: (e) => this.#identify(e), tableOf: (t) => this.tableOf(t as never) })
  }

  /** An entity is its own row (relations it carries are not): `fk.keyFor(entity)`. */
  #identify(entity: object) {
    this.scan()
    const ctor = entity.constructor
    const md =
      typeof ctor === 'function' && ctor !== Object
        ? metadataOf(this.dataSource, ctor)?.findInheritanceMetadata(entity)
        : this.#plain.get(entity)
    const pk = md && pkOf(md, entity)
    return md && pk !== undefined ? { table: md.tableName, pk } : undefined
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
    if (!this.active) throw inactive('the freshkey subscriber is not in dataSource.subscribers')
    if (!this.dataSource.isInitialized) throw inactive('initialize() the data source before verify()')
    const runner = this.dataSource.createQueryRunner()
    // A shared connection (SQLite drivers) inside someone's transaction: do not nest a probe into it.
    if (runner.isTransactionActive) return
    try {
      await runner.startTransaction()
      await runner.rollbackTransaction()
    } finally {
      await runner.release()
    }
    if (!this.seen.has(runner)) throw inactive('a probe transaction did not reach the freshkey subscriber')
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
  async changed(targets: readonly (string | Target)[], via?: EntityManager | QueryRunner): Promise<void> {
    this.live()
    this.scan()
    const facts = targets.map((target) => {
      const table = this.graph.tables.has(target as string) ? target : (this.tableOf(target) ?? target)
      if (typeof table !== 'string') throw new TypeError('changed(): unknown entity target')
      return { table, kind: 'bulk' as const }
    })
    const runner = runnerOf(this.dataSource, via && 'isTransactionActive' in via ? via : via?.queryRunner)
    await this.record(runner, facts, runner?.isTransactionActive === true)
  }

  /** The database table of an entity class, EntitySchema or entity name. */
  tableOf(target: Target): string | undefined {
    this.scan()
    return metadataOf(this.dataSource, target)?.tableName
  }

  /** @internal Remembers the metadata of a plain-object entity (an EntitySchema without a class). */
  tagPlain(entity: unknown, md: EntityMetadata): void {
    if (typeof entity === 'object' && entity !== null && typeof md.target !== 'function')
      this.#plain.set(entity, md)
  }
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
  if (String(dataSource?.options?.type) === 'mongodb')
    throw new kit.AdapterSetupError('typeorm', 'the "mongodb" driver is not supported')
  return kit.Binding.for(fk, dataSource, () => {
    installHooks(dataSource)
    const binding = new TypeORMBinding(dataSource, fk, options)
    binding.scan()
    if (binding.active) return binding
    binding.dispose()
    throw inactive('could not place the freshkey subscriber in dataSource.subscribers')
  })
}

/** Metadata of an entity class, EntitySchema or entity name; undefined for anything else. */
function metadataOf(ds: DataSource, target: unknown): EntityMetadata | undefined {
  const key = isEntitySchema(target) ? (target.options.target ?? target.options.name) : target
  const ok = ds.isInitialized && (typeof key === 'function' || typeof key === 'string')
  return ok && ds.hasMetadata(key as string) ? ds.getMetadata(key as string) : undefined
}

/** The live bindings of a data source (the hooks, patched once per TypeORM copy, serve all of them). */
export function bindingsOf(dataSource: DataSource): TypeORMBinding[] {
  const list = kit.Binding.on(dataSource) as TypeORMBinding[]
  for (const b of list) b.scan()
  return list
}
