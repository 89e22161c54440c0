import { ConfigError, SerializationError } from './errors.ts'

/** A value `JSON.stringify` writes and `JSON.parse` reads back unchanged. */
export type TaggedJsonValue =
  | null
  | boolean
  | number
  | string
  | TaggedJsonValue[]
  | { [key: string]: TaggedJsonValue }

/**
 * A type the tagged JSON walk stores as `{ [key]: tag, v: payload }`, on top of the built-in
 * `Date`, `bigint`, `Map`, `Set`, `Uint8Array`, `undefined` and non-finite numbers.
 */
export interface TaggedType<T extends object = object> {
  /** Name written next to the tag key, e.g. `'decimal'`. Unique; 1-character tags are reserved. */
  readonly tag: string
  /**
   * Whether this type takes `value`. Asked, in list order, about every object the built-in types do
   * not take (arrays, `Date`, `Map`, `Set` and `Uint8Array` are never offered); the first yes wins.
   */
  test(value: object): boolean
  /** The payload stored for `value`, walked in turn: it may hold `Date`s, `bigint`s, tagged values. */
  encode(value: T): unknown
  /** Rebuilds the value from its payload, which arrives already decoded. */
  decode(payload: unknown): unknown
}

/** Options of {@link toTaggedJson} and {@link fromTaggedJson}; both sides must use the same ones. */
export interface TaggedJsonOptions {
  /** Extra types, tried in order after the built-in ones. Default none. */
  types?: readonly TaggedType[]
  /**
   * Property that marks a tagged object. Default `'$fk'`, the one `jsonSerializer` writes: use your
   * own when the result goes through `jsonSerializer`, or it escapes every tagged object once more.
   */
  key?: string
}

/** The tag key of `jsonSerializer`'s format. */
export const TAG_KEY = '$fk'

/** Validated options, built once per serializer. */
export interface TaggedJsonCodec {
  readonly key: string
  readonly types: readonly TaggedType[]
  readonly byTag: ReadonlyMap<string, TaggedType>
}

export function taggedJsonCodec(options: TaggedJsonOptions = {}): TaggedJsonCodec {
  const key = options.key ?? TAG_KEY
  // `v` holds the payload next to the tag key.
  if (typeof key !== 'string' || key === '' || key === 'v')
    throw new ConfigError('`key` must be a non-empty string other than "v"')
  const types = [...(options.types ?? [])]
  const byTag = new Map<string, TaggedType>()
  for (const type of types) {
    const tag: unknown = type?.tag
    if (typeof tag !== 'string' || tag.length < 2)
      throw new ConfigError(
        `tag ${JSON.stringify(tag)}: a tagged type's tag must be a string of 2 or more characters ` +
          '(shorter ones are reserved for the built-in types)',
      )
    if (byTag.has(tag)) throw new ConfigError(`tag "${tag}": two tagged types use it`)
    if (
      typeof type.test !== 'function' ||
      typeof type.encode !== 'function' ||
      typeof type.decode !== 'function'
    )
      throw new ConfigError(`tag "${tag}": a tagged type needs test, encode and decode functions`)
    byTag.set(tag, type)
  }
  return { key, types, byTag }
}

const DEFAULT_CODEC = taggedJsonCodec()

function put(out: Record<string, unknown>, key: string, value: unknown): void {
  // Assigning `__proto__` would set the prototype instead of keeping the data.
  if (key === '__proto__')
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
  else out[key] = value
}

function encode(value: unknown, codec: TaggedJsonCodec, seen: Set<object>, path: string): TaggedJsonValue {
  const tag = codec.key
  switch (typeof value) {
    case 'undefined':
      return { [tag]: 'u' }
    case 'bigint':
      return { [tag]: 'n', v: value.toString() }
    case 'number':
      return Number.isFinite(value) ? value : { [tag]: 'f', v: String(value) }
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
  if (obj instanceof Date) return { [tag]: 'd', v: obj.getTime() }
  if (obj instanceof Uint8Array)
    return { [tag]: 'b', v: Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength).toString('base64') }
  seen.add(obj)
  try {
    if (Array.isArray(obj)) return obj.map((v, i) => encode(v, codec, seen, `${path}[${i}]`))
    if (obj instanceof Map) {
      return {
        [tag]: 'm',
        v: [...obj].map(([k, v], i) => [
          encode(k, codec, seen, `${path}<key ${i}>`),
          encode(v, codec, seen, `${path}.get(…)`),
        ]),
      }
    }
    if (obj instanceof Set)
      return { [tag]: 's', v: [...obj].map((v, i) => encode(v, codec, seen, `${path}<item ${i}>`)) }
    for (const type of codec.types) {
      if (type.test(obj)) return { [tag]: type.tag, v: encode(type.encode(obj), codec, seen, path) }
    }
    if (
      ArrayBuffer.isView(obj) ||
      obj instanceof WeakMap ||
      obj instanceof WeakSet ||
      obj instanceof Promise
    ) {
      throw new SerializationError(`${path}: a ${obj.constructor.name} cannot be cached`)
    }
    const toJSON = (obj as { toJSON?: () => unknown }).toJSON
    if (typeof toJSON === 'function') return encode(toJSON.call(obj), codec, seen, path)
    const out: Record<string, TaggedJsonValue> = {}
    for (const [k, v] of Object.entries(obj)) put(out, k, encode(v, codec, seen, `${path}.${k}`))
    // A user object that happens to have our tag key is wrapped so it is never mistaken for one of ours.
    return Object.hasOwn(out, tag) ? { [tag]: 'o', v: out } : out
  } finally {
    seen.delete(obj)
  }
}

function decodeEntries(rec: object, codec: TaggedJsonCodec): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(rec)) put(out, k, decode(x, codec))
  return out
}

function decode(value: unknown, codec: TaggedJsonCodec): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map((x) => decode(x, codec))
  const rec = value as Record<string, unknown>
  if (Object.hasOwn(rec, codec.key)) {
    const tag = rec[codec.key]
    const v = rec.v
    switch (tag) {
      case 'u':
        return undefined
      case 'n':
        return BigInt(v as string)
      case 'f':
        return Number(v)
      case 'd':
        // An invalid Date's NaN time was written as null.
        return new Date(v === null ? Number.NaN : (v as number))
      case 'b':
        return new Uint8Array(Buffer.from(v as string, 'base64'))
      case 'm':
        return new Map((v as [unknown, unknown][]).map(([k, x]) => [decode(k, codec), decode(x, codec)]))
      case 's':
        return new Set((v as unknown[]).map((x) => decode(x, codec)))
      case 'o':
        return decodeEntries(v as object, codec)
    }
    const type = codec.byTag.get(tag as string)
    if (type) return type.decode(decode(v, codec))
  }
  return decodeEntries(rec, codec)
}

export function encodeTagged(value: unknown, codec: TaggedJsonCodec): TaggedJsonValue {
  return encode(value, codec, new Set(), 'value')
}

export function decodeTagged(value: unknown, codec: TaggedJsonCodec): unknown {
  return decode(value, codec)
}

/**
 * The walk behind `jsonSerializer`, for values that must be plain JSON before any serializer sees
 * them: `Date`, `bigint`, `Map`, `Set`, `Uint8Array` (and `Buffer`), `undefined`, `NaN`, `±Infinity`
 * and the `types` become tagged objects; other class instances become their own enumerable
 * properties (or `toJSON()`). Functions, symbols and cycles throw a `SerializationError` naming
 * their path. Throws `ConfigError` for invalid options.
 */
export function toTaggedJson(value: unknown, options?: TaggedJsonOptions): TaggedJsonValue {
  return encodeTagged(value, options ? taggedJsonCodec(options) : DEFAULT_CODEC)
}

/** Inverse of {@link toTaggedJson} with the same options; bytes come back as `Uint8Array`, never `Buffer`. */
export function fromTaggedJson(value: unknown, options?: TaggedJsonOptions): unknown {
  return decodeTagged(value, options ? taggedJsonCodec(options) : DEFAULT_CODEC)
}
