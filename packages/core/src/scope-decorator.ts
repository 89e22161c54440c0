import { ConfigError } from './errors.ts'

const SCOPES = Symbol.for('freshkey.scopes')

type FieldLists = readonly (readonly string[])[]

/**
 * Declares scopes on an entity class: `@Scope(['published', 'category'])`, several lists as
 * `@Scope(['published'], ['category', 'authorId'])`. Works as a standard (TypeScript 5) and as a
 * legacy (`experimentalDecorators`) class decorator, beside TypeORM/MikroORM entity decorators.
 * Subclasses inherit the lists of their parents. Adapters read them with {@link scopesOf} and
 * declare the scopes on the entity's table.
 */
export function Scope(
  ...lists: readonly (readonly string[])[]
): (target: Function, context?: unknown) => void {
  if (lists.length === 0)
    throw new ConfigError("@Scope needs at least one field list: @Scope(['published', 'category'])")
  for (const list of lists) {
    if (!Array.isArray(list) || list.length === 0 || list.some((f) => typeof f !== 'string' || f === '')) {
      throw new ConfigError("@Scope takes non-empty lists of field names: @Scope(['published', 'category'])")
    }
  }
  const declared = lists.map((l) => Object.freeze([...l]))
  return (target, context) => {
    const kind =
      typeof context === 'object' && context !== null ? (context as { kind?: unknown }).kind : 'class'
    if (typeof target !== 'function' || kind !== 'class')
      throw new ConfigError('@Scope decorates an entity class')
    const own = Object.hasOwn(target, SCOPES)
      ? (target as unknown as Record<symbol, FieldLists>)[SCOPES]!
      : []
    Object.defineProperty(target, SCOPES, { value: Object.freeze([...own, ...declared]), configurable: true })
  }
}

/** The field lists declared with {@link Scope} on a class and its ancestors, or `undefined`. */
export function scopesOf(target: unknown): FieldLists | undefined {
  const lists: (readonly string[])[] = []
  for (let c = target; typeof c === 'function' && c !== Function.prototype; c = Object.getPrototypeOf(c)) {
    if (Object.hasOwn(c, SCOPES)) lists.push(...(c as unknown as Record<symbol, FieldLists>)[SCOPES]!)
  }
  return lists.length > 0 ? lists : undefined
}
