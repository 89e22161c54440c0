import {
  decodeTagged,
  encodeTagged,
  TAG_KEY,
  type TaggedJsonCodec,
  type TaggedType,
  taggedJsonCodec,
} from './tagged-json.ts'

/** Turns values into strings for the store and back. */
export interface Serializer {
  serialize(value: unknown): string
  deserialize(text: string): unknown
}

/** Options of {@link createJsonSerializer}. */
export interface JsonSerializerOptions {
  /** Extra types to round-trip, tried in order after the built-in ones. Default none. */
  types?: readonly TaggedType[]
}

const SPECIAL = Symbol('special')
/** Every tagged value holds its tag key as a JSON property name. */
const TAGGED = `"${TAG_KEY}"`

// Plain JSON needs no tags: JSON.stringify walks it natively and hands over to the full encoder at
// the first value that needs a tag (or that the encoder refuses).
function plainOnly(types: readonly TaggedType[]) {
  const claimed = (value: object) => types.some((type) => type.test(value))
  // The replacer gets toJSON()'s result: Date, Buffer and claimed classes must reach the encoder as they are.
  const replaced = (holder: Record<string, unknown>, key: string, value: unknown) => {
    const raw = holder[key]
    return (
      raw !== value &&
      typeof raw === 'object' &&
      raw !== null &&
      (raw instanceof Date || raw instanceof Uint8Array || claimed(raw))
    )
  }
  const typed = types.length > 0
  return function (this: Record<string, unknown>, key: string, value: unknown): unknown {
    switch (typeof value) {
      case 'number':
        if (!Number.isFinite(value) || (typed && replaced(this, key, value))) throw SPECIAL
        return value
      case 'boolean':
        if (typed && replaced(this, key, value)) throw SPECIAL
        return value
      case 'string':
        if (replaced(this, key, value)) throw SPECIAL
        return value
      case 'object':
        if (replaced(this, key, value)) throw SPECIAL
        if (value === null || Array.isArray(value)) return value
        if (
          Object.getPrototypeOf(value) === Object.prototype &&
          !Object.hasOwn(value, TAG_KEY) &&
          !(typed && claimed(value))
        )
          return value
        throw SPECIAL // Map, Set, boxed primitives, class instances, typed arrays, our own tag key
      default:
        throw SPECIAL // undefined (also array holes), bigint, function, symbol
    }
  }
}

/**
 * A JSON serializer that also round-trips `types` (see `TaggedType`). Throws `ConfigError` when a
 * tag is reused or reserved.
 */
export function createJsonSerializer(options: JsonSerializerOptions = {}): Serializer {
  const codec: TaggedJsonCodec = taggedJsonCodec({ types: options.types ?? [] })
  const replacer = plainOnly(codec.types)
  return {
    serialize(value) {
      try {
        return JSON.stringify(value, replacer)
      } catch (error) {
        // A TypeError is a cycle: the encoder reports it as a SerializationError with its path.
        if (error !== SPECIAL && !(error instanceof TypeError)) throw error
        return JSON.stringify(encodeTagged(value, codec))
      }
    },
    deserialize(text) {
      // Most values hold no tagged type: plain JSON.parse is then the whole job.
      return text.includes(TAGGED) ? decodeTagged(JSON.parse(text), codec) : JSON.parse(text)
    },
  }
}

/**
 * JSON that round-trips `Date`, `BigInt`, `Map`, `Set`, `Uint8Array` (`Buffer`s come back as
 * `Uint8Array`), `undefined` (in objects, arrays and at the top), `NaN` and `Infinity`. Class
 * instances are stored as their own enumerable properties (or `toJSON()`), so they come back as
 * plain objects. Functions, symbols and cycles are refused with a `SerializationError` before
 * anything is written.
 */
export const jsonSerializer: Serializer = createJsonSerializer()
