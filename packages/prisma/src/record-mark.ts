import type { EntityResolver, Freshkey, PrimaryKey } from '@freshkey/core'
import type { ModelIndex, ModelInfo } from './model-index.ts'
import { pkOf } from './row-changes.ts'

/** Non-enumerable property on every record the extension returns: its model. Not in JSON, lost by spreading. */
export const MODEL_MARK: unique symbol = Symbol.for('freshkey.prisma.model')

const TOKEN: unique symbol = Symbol.for('freshkey.prisma.modelToken')

interface Marked {
  [MODEL_MARK]?: { readonly index: ModelIndex; readonly model: ModelInfo }
}

/** A model token for `fk.keyFor(...)` and `dep.scope(...)`: the model's whole table. */
export interface PrismaModelToken {
  readonly [TOKEN]: string
  readonly model: string
}

/**
 * Names a Prisma model where a table dependency is wanted without a client at hand:
 * `fk.keyFor(prismaModel('Post'))` is the same as `fk.keyFor(prisma.post)`.
 */
export function prismaModel(name: string): PrismaModelToken {
  return Object.freeze({ [TOKEN]: name, model: name })
}

/** Marks records of `model` (and included relations) in place. */
export function markRecords(index: ModelIndex, model: ModelInfo, value: unknown): void {
  if (value === null || typeof value !== 'object') return
  if (Array.isArray(value)) {
    for (const v of value) markRecords(index, model, v)
    return
  }
  if (value instanceof Date || ArrayBuffer.isView(value)) return
  if (!Object.hasOwn(value, MODEL_MARK)) {
    Object.defineProperty(value, MODEL_MARK, {
      value: { index, model },
      enumerable: false,
      configurable: true,
      writable: true,
    })
  }
  const rec = value as Record<string, unknown>
  for (const [field, rel] of model.relations) {
    const v = rec[field]
    if (v === null || typeof v !== 'object') continue
    const target = index.model(rel.target)
    if (target) markRecords(index, target, v)
  }
}

/** The model a record was marked with, if any. */
export function markOf(value: object): { readonly index: ModelIndex; readonly model: ModelInfo } | undefined {
  return (value as Marked)[MODEL_MARK]
}

interface ResolverState {
  readonly indexes: ModelIndex[]
}

const states = new WeakMap<Freshkey, ResolverState>()

/** Registers (once per freshkey instance) the resolver that reads marks, model delegates and tokens. */
export function addIndexToResolver(fk: Freshkey, index: ModelIndex): void {
  let state = states.get(fk)
  if (!state) {
    const s: ResolverState = { indexes: [] }
    states.set(fk, s)
    fk.registerResolver(resolverFor(s))
    state = s
  }
  if (!state.indexes.includes(index)) state.indexes.push(index)
}

function resolverFor(state: ResolverState): EntityResolver {
  const byName = (name: string): ModelInfo | undefined => {
    for (const index of state.indexes) {
      const m = index.model(name)
      if (m) return m
    }
    return undefined
  }
  return {
    identify(entity: object) {
      const mark = markOf(entity)
      if (!mark) return undefined
      const pk = identityOf(mark.model, entity)
      return pk === undefined ? undefined : { table: mark.model.table, pk }
    },
    tableOf(target: unknown) {
      if (target === null || (typeof target !== 'object' && typeof target !== 'function')) return undefined
      // A marked record whose key fields were not selected still depends on its table.
      const mark = markOf(target)
      if (mark) return mark.model.table
      const token = (target as Partial<PrismaModelToken>)[TOKEN]
      if (typeof token === 'string') return byName(token)?.table
      // A model delegate (`prisma.post`) carries its model name as `$name`.
      const name = (target as { $name?: unknown }).$name
      if (typeof name === 'string' && 'fields' in (target as object)) return byName(name)?.table
      return undefined
    },
  }
}

/**
 * The primary key of a marked record. Without generator metadata the key is unknown; an `id` field
 * is used then, which is safe because every write in that mode invalidates whole tables.
 */
function identityOf(model: ModelInfo, entity: object): PrimaryKey | undefined {
  if (model.pk.length > 0) return pkOf(model, entity)
  return 'id' in entity ? pkOf({ ...model, pk: ['id'] }, entity) : undefined
}
