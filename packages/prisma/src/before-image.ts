import { setTimeout as sleep } from 'node:timers/promises'
import type { ModelIndex, ModelInfo } from './model-index.ts'
import { pkFieldsOfWhere, uniqueWhere } from './row-changes.ts'
import type { WriteTarget } from './transaction-frames.ts'

type Row = Record<string, unknown>

/** What a before-image read needs from the registration. */
export interface BeforeImageContext {
  readonly index: ModelIndex
  /** The client without this extension, for reads and batches outside a transaction. */
  readonly base: Record<string, any>
  readonly report: (error: unknown) => void
}

/** Tries of a before-image batch that lost a race to a concurrent writer of the row. */
const BEFORE_IMAGE_ATTEMPTS = 8

/**
 * A statement that locks one row by primary key until the transaction ends, where the database
 * needs one: on PostgreSQL/CockroachDB/MySQL a plain read could see a value another transaction is
 * about to replace. SQLite transactions in Prisma's driver adapters hold the database write lock.
 */
export function lockStatement(
  index: ModelIndex,
  model: ModelInfo,
  keys: Record<string, unknown>,
): { sql: string; values: unknown[] } | undefined {
  const provider = index.provider
  const mysql = provider === 'mysql'
  if (!mysql && provider !== 'postgresql' && provider !== 'cockroachdb') return undefined
  const q = (name: string) =>
    mysql ? `\`${name.replaceAll('`', '``')}\`` : `"${name.replaceAll('"', '""')}"`
  const table = model.schema ? `${q(model.schema)}.${q(model.bareTable)}` : q(model.bareTable)
  const values: unknown[] = []
  const conditions = model.pk.map((f) => {
    values.push(keys[f])
    return `${q(model.columns[f] ?? f)} = ${mysql ? '?' : `$${values.length}`}`
  })
  return { sql: `SELECT 1 FROM ${table} WHERE ${conditions.join(' AND ')} FOR UPDATE`, values }
}

/** `select` of the key fields plus `fields`. */
export function selectOf(model: ModelInfo, fields: readonly string[]): Record<string, true> {
  const out: Record<string, true> = {}
  for (const f of [...model.pk, ...fields]) if (Object.hasOwn(model.columns, f)) out[f] = true
  return out
}

/** A write's result and the row's scoped columns before it (`null`: no row; absent: not known). */
export interface WithBefore {
  readonly result: unknown
  readonly before?: Row | null
  readonly beforeByWhereKey?: boolean
}

/**
 * Runs an update/upsert knowing the row's scoped columns just before it, so a row moving between
 * scopes invalidates both. A plain update reads the row, then updates it only if those columns
 * still hold what was read (compare-and-set in the UPDATE's own WHERE), again on a mismatch. An
 * upsert, or an update with nested writes, reads in the write's transaction instead: locked on
 * PostgreSQL/MySQL inside `$transaction`, REPEATABLE READ on PostgreSQL outside one.
 */
export async function writeWithBeforeImage(
  ctx: BeforeImageContext,
  model: ModelInfo,
  scoped: readonly string[],
  sent: Row,
  query: (args: Row) => PromiseLike<unknown>,
  target: WriteTarget,
  operation: 'update' | 'upsert',
): Promise<WithBefore> {
  const whereKeys = pkFieldsOfWhere(model, sent.where)
  const client: Record<string, any> | undefined = target.mode === 'tx' ? target.frame.client : ctx.base
  if (!client) return { result: await query(sent) }
  const select = selectOf(model, scoped)
  if (operation === 'update' && !hasRelationWrites(model, sent.data)) {
    const done = await compareAndSet(ctx, client, model, select, sent, query)
    if (done) return done
  }
  let keys = whereKeys
  if (!keys) {
    try {
      const found = await client[model.key].findUnique({ where: sent.where, select: selectOf(model, []) })
      keys = found ? pkFieldsOfWhere(model, found) : undefined
    } catch (error) {
      ctx.report(error)
    }
  }
  if (!keys) return { result: await query(sent) }
  const lock = lockStatement(ctx.index, model, keys)
  const byWhere = whereKeys !== undefined
  if (target.mode === 'tx') {
    let before: Row | null | undefined
    try {
      if (lock) await client.$queryRawUnsafe(lock.sql, ...lock.values)
      before = (await client[model.key].findUnique({
        where: uniqueWhere(model, keys),
        select,
      })) as Row | null
    } catch (error) {
      ctx.report(error)
    }
    return { result: await query(sent), before, beforeByWhereKey: byWhere }
  }
  // Outside a transaction: one batch transaction runs read and write together. PostgreSQL runs it
  // in REPEATABLE READ, so a concurrent change of the row between the two fails it (P2034) instead
  // of leaving a stale before image; nothing committed then, so it runs again.
  const repeatable = ctx.index.provider === 'postgresql' || ctx.index.provider === 'cockroachdb'
  for (let attempt = 1; ; attempt++) {
    const ops: unknown[] = []
    if (lock && !repeatable) ops.push(client.$queryRawUnsafe(lock.sql, ...lock.values))
    ops.push(client[model.key].findUnique({ where: uniqueWhere(model, keys), select }))
    ops.push(query(sent))
    try {
      const out = (await client.$transaction(
        ops,
        repeatable ? { isolationLevel: 'RepeatableRead' } : undefined,
      )) as unknown[]
      return {
        result: out[out.length - 1],
        before: (out[out.length - 2] as Row | null) ?? null,
        beforeByWhereKey: byWhere,
      }
    } catch (error) {
      const e = error as { code?: unknown; batchRequestIdx?: unknown }
      if (repeatable && e?.code === 'P2034' && attempt < BEFORE_IMAGE_ATTEMPTS) {
        // Jitter, so two writers of one row do not collide again in lockstep.
        await sleep(Math.random() * 2 ** attempt)
        continue
      }
      if (e?.batchRequestIdx === ops.length - 1 && e?.code !== 'P2034') throw error
      // The before image could not be had (nothing committed): write without it, scopes go wide.
      ctx.report(error)
      return { result: await query(sent) }
    }
  }
}

/**
 * Compare-and-set: the update's `where` also requires the key and scoped values just read, so the
 * row it changes is exactly the one read. Undefined when it cannot be used (values `where` cannot
 * compare) or kept losing the race: the caller takes the transactional path then.
 */
async function compareAndSet(
  ctx: BeforeImageContext,
  client: Record<string, any>,
  model: ModelInfo,
  select: Record<string, true>,
  sent: Row,
  query: (args: Row) => PromiseLike<unknown>,
): Promise<WithBefore | undefined> {
  for (let attempt = 1; attempt <= BEFORE_IMAGE_ATTEMPTS; attempt++) {
    let before: Row | null
    try {
      before = (await client[model.key].findUnique({ where: sent.where, select })) as Row | null
    } catch (error) {
      ctx.report(error)
      return undefined
    }
    // No such row: the update fails as it would have (or the row just appeared: no before image).
    if (!before) return { result: await query(sent) }
    const expected: Row = {}
    for (const [field, value] of Object.entries(before)) {
      if (value !== null && typeof value === 'object' && !(value instanceof Date) && !isDecimal(value))
        return undefined
      expected[field] = value
    }
    const where = sent.where as Row
    const and = where.AND === undefined ? [] : Array.isArray(where.AND) ? where.AND : [where.AND]
    try {
      const result = await query({ ...sent, where: { ...where, AND: [...and, expected] } })
      return { result, before, beforeByWhereKey: true }
    } catch (error) {
      if ((error as { code?: unknown })?.code !== 'P2025') throw error
      // The row changed between the read and the update (or is gone): read again.
      await sleep(Math.random() * 2 ** attempt)
    }
  }
  return undefined
}

/** Nested writes would not be undone by a failed compare-and-set inside an interactive transaction. */
function hasRelationWrites(model: ModelInfo, data: unknown): boolean {
  return data !== null && typeof data === 'object' && Object.keys(data).some((k) => model.relations.has(k))
}

const isDecimal = (v: object) => typeof (v as { toFixed?: unknown }).toFixed === 'function' && 'd' in v
