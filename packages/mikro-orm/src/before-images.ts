import { canonicalPk } from '@freshkey/core'
import {
  type EntityManager,
  type EntityMetadata,
  type EntityProperty,
  LockMode,
  ReferenceKind,
} from '@mikro-orm/core'
import { pkOf } from './conditions.ts'
import type { CapturedChangeSet, PendingFlush } from './flush-capture.ts'

const READABLE: ReadonlySet<string> = new Set([
  ReferenceKind.SCALAR,
  ReferenceKind.MANY_TO_ONE,
  ReferenceKind.ONE_TO_ONE,
])

/**
 * Reads the scoped columns of the rows a flush updates or deletes, inside its transaction and
 * locked (`FOR UPDATE` where the platform has it), so the before image is the committed row
 * this transaction is about to change, not a possibly stale identity map snapshot.
 */
export async function readBeforeImages(
  em: EntityManager,
  trx: unknown,
  pending: PendingFlush,
  scoped: (table: string) => readonly string[],
): Promise<void> {
  const groups = new Map<string, CapturedChangeSet[]>()
  for (const item of pending.items.values()) {
    if (!item.needsRead || item.pk === undefined) continue
    const group = `${item.schema ?? ''}\u0000${item.table}`
    groups.set(group, [...(groups.get(group) ?? []), item])
  }
  for (const items of groups.values()) {
    const { meta, schema, table } = items[0]!
    const fields = readableFields(meta, scoped(table))
    if (fields === undefined) continue
    const pks = meta.primaryKeys as string[]
    const where =
      pks.length === 1 ? { [pks[0]!]: { $in: items.map((i) => i.pk) } } : { $or: items.map((i) => i.pk) }
    const rows = (await em.getDriver().find(meta.class, where as never, {
      ctx: trx,
      fields: [...new Set([...pks, ...fields])] as never,
      lockMode: LockMode.PESSIMISTIC_WRITE,
      schema,
    })) as Record<string, unknown>[]
    const byKey = new Map<string, Record<string, unknown>>()
    for (const row of rows) {
      const pk = pkOf(meta, row)
      if (pk !== undefined) byKey.set(canonicalPk(pk), row)
    }
    for (const item of items) {
      const row = byKey.get(canonicalPk(item.pk))
      if (row) item.fresh = pickFields(row, fields)
    }
  }
}

/** Scoped fields that are columns of the entity's own table; undefined when one is not (then nothing is read). */
function readableFields(meta: EntityMetadata, fields: readonly string[]): string[] | undefined {
  for (const f of fields) {
    const prop = meta.properties[f] as EntityProperty | undefined
    if (
      !prop ||
      !READABLE.has(prop.kind) ||
      prop.persist === false ||
      prop.formula ||
      (prop.kind === ReferenceKind.ONE_TO_ONE && !prop.owner)
    ) {
      return undefined
    }
  }
  return [...fields]
}

function pickFields(row: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const f of fields) if (Object.hasOwn(row, f)) out[f] = row[f]
  return out
}
