import type { TaggedType } from '../tagged-json.ts'

/**
 * Tags instances of classes with their class name, for query arguments in cache keys: instances
 * without own data (Prisma's `DbNull` and `JsonNull`) differ only by class, which JSON loses. They
 * decode to their own fields.
 */
export const classInstances: TaggedType = {
  tag: 'class',
  test(value) {
    const proto = Object.getPrototypeOf(value)
    return proto !== Object.prototype && proto !== null
  },
  encode: (value) => [
    String(Object.getPrototypeOf(value)?.constructor?.name),
    Object.fromEntries(Object.entries(value)),
  ],
  decode: (payload) => (payload as [string, unknown])[1],
}
