const SCOPES = Symbol.for('freshkey.scopes')

type FieldLists = readonly (readonly string[])[]

/**
 * Declares scopes on an entity class: `@Scope(['published', 'category'])`, several lists as
 * `@Scope(['published'], ['category', 'authorId'])`. Works as a standard (TypeScript 5) and as a
 * legacy (`experimentalDecorators`) class decorator, beside TypeORM/MikroORM entity decorators.
 * Adapters read it with {@link scopesOf} and declare the scopes on the entity's table.
 */
export function Scope(...lists: readonly (readonly string[])[]): (target: Function, context?: unknown) => void {
  return (target) => {
    const own = Object.hasOwn(target, SCOPES) ? ((target as unknown as Record<symbol, FieldLists>)[SCOPES] ?? []) : []
    Object.defineProperty(target, SCOPES, { value: [...own, ...lists.map((l) => [...l])], configurable: true })
  }
}

/** The field lists declared with {@link Scope} on a class, or `undefined`. */
export function scopesOf(target: unknown): FieldLists | undefined {
  if (typeof target !== 'function' || !Object.hasOwn(target, SCOPES)) return undefined
  return (target as unknown as Record<symbol, FieldLists>)[SCOPES]
}
