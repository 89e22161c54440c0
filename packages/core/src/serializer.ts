import { SerializationError } from './errors.ts'

/** Turns values into strings for the store and back. */
export interface Serializer {
  serialize(value: unknown): string
  deserialize(text: string): unknown
}

const TAG = '$fk'

function encode(value: unknown, seen: Set<object>, path: string): unknown {
  switch (typeof value) {
    case 'undefined':
      return { [TAG]: 'u' }
    case 'bigint':
      return { [TAG]: 'n', v: value.toString() }
    case 'number':
      return Number.isFinite(value) ? value : { [TAG]: 'f', v: String(value) }
    case 'function':
    case 'symbol':
      throw new SerializationError(`${path}: a ${typeof value} cannot be cached`)
    case 'string':
    case 'boolean':
      return value
  }
  if (value === null) return null
  const obj = value as object
  if (seen.has(obj)) throw new SerializationError(`${path}: circular reference`)
  if (obj instanceof Date) return { [TAG]: 'd', v: obj.getTime() }
  seen.add(obj)
  try {
    if (Array.isArray(obj)) return obj.map((v, i) => encode(v, seen, `${path}[${i}]`))
    if (obj instanceof Map) {
      return {
        [TAG]: 'm',
        v: [...obj].map(([k, v], i) => [
          encode(k, seen, `${path}<key ${i}>`),
          encode(v, seen, `${path}.get(…)`),
        ]),
      }
    }
    if (obj instanceof Set)
      return { [TAG]: 's', v: [...obj].map((v, i) => encode(v, seen, `${path}<item ${i}>`)) }
    if (
      ArrayBuffer.isView(obj) ||
      obj instanceof WeakMap ||
      obj instanceof WeakSet ||
      obj instanceof Promise
    ) {
      throw new SerializationError(`${path}: a ${obj.constructor.name} cannot be cached`)
    }
    const toJSON = (obj as { toJSON?: () => unknown }).toJSON
    if (typeof toJSON === 'function') return encode(toJSON.call(obj), seen, path)
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(obj)) out[k] = encode(v, seen, `${path}.${k}`)
    // A user object that happens to have our tag key is wrapped so it is never mistaken for one of ours.
    return Object.hasOwn(out, TAG) ? { [TAG]: 'o', v: out } : out
  } finally {
    seen.delete(obj)
  }
}

function decode(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(decode)
  const rec = value as Record<string, unknown>
  if (Object.hasOwn(rec, TAG)) {
    const v = rec.v
    switch (rec[TAG]) {
      case 'u':
        return undefined
      case 'n':
        return BigInt(v as string)
      case 'f':
        return Number(v)
      case 'd':
        return new Date(v as number)
      case 'm':
        return new Map((v as [unknown, unknown][]).map(([k, x]) => [decode(k), decode(x)]))
      case 's':
        return new Set((v as unknown[]).map(decode))
      case 'o': {
        const out: Record<string, unknown> = {}
        for (const [k, x] of Object.entries(v as object)) out[k] = decode(x)
        return out
      }
    }
  }
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(rec)) out[k] = decode(x)
  return out
}

const SPECIAL = Symbol('special')

// Plain JSON needs no tags: JSON.stringify walks it natively and hands over to the full encoder at
// the first value that needs a tag (or that the encoder refuses).
function plainOnly(this: Record<string, unknown>, key: string, value: unknown): unknown {
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) throw SPECIAL
      return value
    case 'string':
      if (this[key] instanceof Date) throw SPECIAL // Date.prototype.toJSON already ran
      return value
    case 'boolean':
      return value
    case 'object':
      if (value === null || Array.isArray(value)) return value
      if (Object.getPrototypeOf(value) === Object.prototype && !Object.hasOwn(value, TAG)) return value
      throw SPECIAL // Map, Set, boxed primitives, class instances, typed arrays, our own tag key
    default:
      throw SPECIAL // undefined (also array holes), bigint, function, symbol
  }
}

/**
 * JSON that round-trips `Date`, `BigInt`, `Map`, `Set`, `undefined` (in objects, arrays and at the
 * top), `NaN` and `Infinity`. Class instances are stored as their own enumerable properties (or
 * `toJSON()`), so they come back as plain objects. Functions, symbols and cycles are refused with
 * a `SerializationError` before anything is written.
 */
export const jsonSerializer: Serializer = {
  serialize(value) {
    try {
      return JSON.stringify(value, plainOnly)
    } catch (error) {
      // A TypeError is a cycle: encode() reports it as a SerializationError with its path.
      if (error !== SPECIAL && !(error instanceof TypeError)) throw error
      return JSON.stringify(encode(value, new Set(), 'value'))
    }
  },
  deserialize(text) {
    // Most values hold no tagged type: plain JSON.parse is then the whole job.
    return text.includes(`"${TAG}"`) ? decode(JSON.parse(text)) : JSON.parse(text)
  },
}
