import type { EntityResolver } from '@freshkey/core/adapter'
import { pkOf } from './rows.ts'
import type { ModelIndex, ModelInfo } from './schema.ts'

/** Non-enumerable property on every record the extension returns: its model. Not in JSON, lost by spreading. */
export const MODEL_MARK: unique symbol = Symbol.for('freshkey.prisma.model')

const TOKEN: unique symbol = Symbol.for('freshkey.prisma.modelToken')

/** A model token for `fk.keyFor(...)` and `dep.scope(...)`: the model's whole table. */
export interface PrismaModelToken {
  readonly [TOKEN]: string
  readonly model: string
}

/** A Prisma model without a client at hand: `fk.keyFor(prismaModel('Post'))` is `fk.keyFor(prisma.post)`. */
export function prismaModel(name: string): PrismaModelToken {
  return Object.freeze({ [TOKEN]: name, model: name })
}

const markOf = (value: object) => (value as { [MODEL_MARK]?: ModelInfo })[MODEL_MARK]

/** Marks records of `model` and of the relations they include, in place. */
export function markRecords(index: ModelIndex, model: ModelInfo, value: unknown): void {
  if (value === null || typeof value !== 'object' || value instanceof Date || ArrayBuffer.isView(value))
    return
  if (Array.isArray(value)) {
    for (const v of value) markRecords(index, model, v)
    return
  }
  if (!Object.hasOwn(value, MODEL_MARK))
    Object.defineProperty(value, MODEL_MARK, { value: model, configurable: true, writable: true })
  for (const [field, rel] of model.relations) {
    const target = index.model(rel.target)
    if (target) markRecords(index, target, (value as Record<string, unknown>)[field])
  }
}

/** How `fk.keyFor` and `dep.scope` read marked records, model delegates and `prismaModel()` tokens. */
export function resolverFor(index: ModelIndex): EntityResolver {
  return {
    identify(entity: object) {
      const model = markOf(entity)
      const pk = model && pkOf(model, entity)
      return pk === undefined ? undefined : { table: model!.table, pk }
    },
    tableOf(target: unknown) {
      if (target === null || (typeof target !== 'object' && typeof target !== 'function')) return undefined
      // A marked record whose key fields were not selected still depends on its table.
      const model = markOf(target)
      if (model) return model.table
      const token = (target as Partial<PrismaModelToken>)[TOKEN]
      if (typeof token === 'string') return index.model(token)?.table
      // A model delegate (`prisma.post`) carries its model name as `$name`.
      const name = (target as { $name?: unknown }).$name
      if (typeof name === 'string' && 'fields' in (target as object)) return index.model(name)?.table
      return undefined
    },
  }
}
