import {
  ConfigError,
  createJsonSerializer,
  fromTaggedJson,
  jsonSerializer,
  SerializationError,
  type TaggedType,
  toTaggedJson,
} from '@freshkey/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

const roundTrip = (value: unknown, s = jsonSerializer) => s.deserialize(s.serialize(value))
/** What the walk alone writes: the serializer's output whenever the fast path bails out. */
const slowPath = (value: unknown, types?: readonly TaggedType[]) =>
  JSON.stringify(toTaggedJson(value, { types }))

class Money {
  constructor(
    readonly cents: bigint,
    readonly currency: string,
  ) {}
  toJSON() {
    return `${this.cents} ${this.currency}`
  }
}
const money: TaggedType<Money> = {
  tag: 'money',
  test: (value) => value instanceof Money,
  encode: (m) => ({ cents: m.cents, currency: m.currency }),
  decode: (p) => {
    const { cents, currency } = p as { cents: bigint; currency: string }
    return new Money(cents, currency)
  },
}
class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}
/** Claims plain objects of one shape: the fast path must hand them over too. */
const point: TaggedType<{ x: number; y: number }> = {
  tag: 'point',
  test: (value) => Object.getPrototypeOf(value) === Object.prototype && Object.keys(value).join() === 'x,y',
  encode: (p) => [p.x, p.y],
  decode: (p) => new Point(...(p as [number, number])),
}

const key = fc.oneof(fc.string(), fc.constantFrom('$fk', 'v', '__proto__', 'toJSON'))
const leaf = fc.oneof(
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.integer(),
  fc.double().map((n) => (Object.is(n, -0) ? 0 : n)),
  fc.bigInt(),
  fc.date({ noInvalidDate: true }),
  fc.uint8Array({ maxLength: 8 }),
)
/** Everything the built-in format round-trips. */
const { value: anyValue } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    tie('array'),
    tie('object'),
    tie('map'),
    tie('set'),
  ),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(key, tie('value'), { maxKeys: 4, noNullPrototype: true }),
  map: fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((e) => new Map(e)),
  set: fc.array(tie('value'), { maxLength: 3 }).map((e) => new Set(e)),
}))

describe('jsonSerializer', () => {
  it('round-trips Date, BigInt, Map, Set, undefined, NaN, Infinity and Uint8Array', () => {
    const value = {
      at: new Date('2024-05-06T07:08:09.010Z'),
      big: -(2n ** 70n),
      map: new Map<unknown, unknown>([
        [new Date(0), new Set([1n, undefined])],
        [{ k: 1 }, Number.NaN],
      ]),
      missing: undefined,
      list: [undefined, null, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
      bytes: new Uint8Array([0, 1, 254, 255]),
      $fk: 'user data that looks like a tag',
      nested: { $fk: { $fk: 'd', v: 0 } },
    }
    expect(roundTrip(value)).toStrictEqual(value)
    expect(roundTrip(undefined)).toBeUndefined()
  })

  it('stores a Uint8Array view by its own bytes and a Buffer as a Uint8Array', () => {
    const view = new Uint8Array([9, 8, 7, 6, 5]).subarray(1, 3)
    expect(roundTrip(view)).toStrictEqual(new Uint8Array([8, 7]))
    const back = roundTrip({ b: Buffer.from('héllo') }) as { b: Uint8Array }
    expect(back.b).toBeInstanceOf(Uint8Array)
    expect(Buffer.isBuffer(back.b)).toBe(false)
    expect(Buffer.from(back.b).toString()).toBe('héllo')
  })

  it('stores other class instances as their properties or toJSON()', () => {
    expect(roundTrip({ p: new Point(1, 2), m: new Money(5n, 'EUR') })).toStrictEqual({
      p: { x: 1, y: 2 },
      m: '5 EUR',
    })
  })

  it('refuses functions, symbols, cycles and unsupported objects, naming the path', () => {
    const refused = (value: unknown, message: string) => {
      expect(() => jsonSerializer.serialize(value)).toThrow(SerializationError)
      expect(() => jsonSerializer.serialize(value)).toThrow(message)
      expect(() => toTaggedJson(value)).toThrow(message)
    }
    refused({ a: [1, { fn() {} }] }, 'value.a[1].fn: a function cannot be cached')
    refused(new Map([[1, Symbol('s')]]), 'value.get(…): a symbol cannot be cached')
    const cyclic: Record<string, unknown> = { list: [] }
    ;(cyclic.list as unknown[]).push(cyclic)
    refused(cyclic, 'value.list[0]: circular reference')
    refused({ i: new Int32Array(2) }, 'value.i: a Int32Array cannot be cached')
    refused([new WeakMap()], 'value[0]: a WeakMap cannot be cached')
  })

  it('the fast path writes what JSON.stringify writes for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        fc.pre(!JSON.stringify(value).includes('"$fk"'))
        expect(jsonSerializer.serialize(value)).toBe(JSON.stringify(value))
      }),
    )
  })

  it('the fast path and the full walk write the same text, and it reads back', () => {
    const withTypes = createJsonSerializer({ types: [money, point] })
    fc.assert(
      fc.property(anyValue, (value) => {
        const text = jsonSerializer.serialize(value)
        expect(text).toBe(slowPath(value))
        expect(jsonSerializer.deserialize(text)).toStrictEqual(value)
        // Types that claim nothing here change nothing.
        expect(withTypes.serialize(value)).toBe(text)
      }),
    )
  })

  it('keeps the wire format: payloads of the previous version decode, the same values encode the same', () => {
    const previous =
      '{"$fk":"o","v":{"at":{"$fk":"d","v":1700000000000},"big":{"$fk":"n","v":"-1180591620717411303424"},' +
      '"map":{"$fk":"m","v":[["a",1],[2,{"$fk":"s","v":["x",{"$fk":"u"}]}]]},"missing":{"$fk":"u"},' +
      '"list":[{"$fk":"u"},null,{"$fk":"f","v":"NaN"},{"$fk":"f","v":"-Infinity"}],"$fk":"user",' +
      '"nested":{"$fk":"o","v":{"$fk":{"$fk":"o","v":{"$fk":"d","v":0}}}}}}'
    const value = {
      at: new Date(1700000000000),
      big: -(2n ** 70n),
      map: new Map<unknown, unknown>([
        ['a', 1],
        [2, new Set(['x', undefined])],
      ]),
      missing: undefined,
      list: [undefined, null, Number.NaN, Number.NEGATIVE_INFINITY],
      $fk: 'user',
      nested: { $fk: { $fk: 'd', v: 0 } },
    }
    expect(jsonSerializer.deserialize(previous)).toStrictEqual(value)
    expect(jsonSerializer.serialize(value)).toBe(previous)
    expect(jsonSerializer.deserialize('{"$fk":"u"}')).toBeUndefined()
    // Unknown tags come back as the object they are.
    expect(jsonSerializer.deserialize('{"$fk":"zz","v":1}')).toStrictEqual({ $fk: 'zz', v: 1 })
  })

  it('an invalid Date stays invalid (the fast path used to write null)', () => {
    const back = roundTrip({ d: new Date(Number.NaN) }) as { d: Date }
    expect(back.d).toBeInstanceOf(Date)
    expect(back.d.getTime()).toBeNaN()
  })

  it('a Buffer is tagged bytes (the fast path used to write its toJSON() form)', () => {
    expect(jsonSerializer.serialize(Buffer.from([1]))).toBe('{"$fk":"b","v":"AQ=="}')
  })

  it('a "__proto__" key is kept as data on the full walk', () => {
    const value = JSON.parse('{"__proto__":{"x":1},"u":null}')
    value.u = undefined
    const back = roundTrip(value) as Record<string, unknown>
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype)
    expect(Object.hasOwn(back, '__proto__')).toBe(true)
    expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toStrictEqual({ x: 1 })
  })
})

describe('custom types', () => {
  const serializer = createJsonSerializer({ types: [money, point] })

  it('round-trip, with their payload walked in turn (bigint inside Money)', () => {
    const value = { price: new Money(2n ** 64n, 'EUR'), at: [{ x: 1, y: 2 }], other: { x: 1, y: 2, z: 3 } }
    const text = serializer.serialize(value)
    expect(text).toContain('"$fk":"money"')
    expect(text).toContain('"$fk":"point"')
    const back = serializer.deserialize(text) as { price: Money; at: [Point]; other: object }
    expect(back.price).toStrictEqual(new Money(2n ** 64n, 'EUR'))
    expect(back.at[0]).toStrictEqual(new Point(1, 2))
    expect(back.other).toStrictEqual({ x: 1, y: 2, z: 3 })
  })

  it('make the fast path hand over: a toJSON() class and a claimed plain object', () => {
    expect(serializer.serialize(new Money(1n, 'USD'))).toBe(slowPath(new Money(1n, 'USD'), [money]))
    expect(serializer.serialize({ x: 1, y: 2 })).toBe('{"$fk":"point","v":[1,2]}')
    expect(jsonSerializer.serialize({ x: 1, y: 2 })).toBe('{"x":1,"y":2}')
  })

  it('come after the built-in types, first match wins', () => {
    const all: TaggedType = { tag: 'all', test: () => true, encode: () => 'all', decode: () => 'ALL' }
    const s = createJsonSerializer({ types: [point, all] })
    expect(
      s.deserialize(s.serialize([new Date(1), new Map(), new Uint8Array(1), { x: 0, y: 0 }, {}])),
    ).toStrictEqual([new Date(1), new Map(), new Uint8Array(1), new Point(0, 0), 'ALL'])
  })

  it('an encode() that returns its own value is a cycle', () => {
    const self: TaggedType = {
      tag: 'self',
      test: (v) => v instanceof Point,
      encode: (v) => v,
      decode: (v) => v,
    }
    expect(() => createJsonSerializer({ types: [self] }).serialize({ p: new Point(0, 0) })).toThrow(
      'value.p: circular reference',
    )
  })

  it('tags that collide or are reserved are refused', () => {
    const withTag = (tag: unknown) => ({ ...money, tag }) as TaggedType
    for (const tag of ['d', 'm', 'o', 'b', 'x', '', 1, undefined])
      expect(() => createJsonSerializer({ types: [withTag(tag)] })).toThrow(ConfigError)
    expect(() => createJsonSerializer({ types: [money, withTag('money')] })).toThrow(
      'two tagged types use it',
    )
    expect(() => createJsonSerializer({ types: [{ tag: 'half', test: () => true } as never] })).toThrow(
      ConfigError,
    )
    expect(() => toTaggedJson(1, { types: [withTag('s')] })).toThrow(ConfigError)
    expect(() => toTaggedJson(1, { key: 'v' })).toThrow(ConfigError)
    expect(() => fromTaggedJson(1, { key: '' })).toThrow(ConfigError)
  })
})

describe('toTaggedJson / fromTaggedJson', () => {
  it('is the serializer format as a value', () => {
    fc.assert(
      fc.property(anyValue, (value) => {
        const json = toTaggedJson(value)
        expect(JSON.stringify(json)).toBe(jsonSerializer.serialize(value))
        expect(fromTaggedJson(JSON.parse(JSON.stringify(json)))).toStrictEqual(value)
      }),
    )
  })

  it('with a key of its own, passes through jsonSerializer as plain JSON', () => {
    const options = { key: '$app', types: [money] }
    const json = toTaggedJson({ at: new Date(3), price: new Money(7n, 'EUR'), $fk: 1 }, options)
    expect(json).toStrictEqual({
      at: { $app: 'd', v: 3 },
      price: { $app: 'money', v: { cents: { $app: 'n', v: '7' }, currency: 'EUR' } },
      $fk: 1,
    })
    const row = toTaggedJson({ at: new Date(3), big: 1n, bytes: new Uint8Array(1) }, options)
    expect(jsonSerializer.serialize(row)).toBe(JSON.stringify(row))
    expect(fromTaggedJson(toTaggedJson({ $app: 'user' }, options), options)).toStrictEqual({ $app: 'user' })
    expect(fromTaggedJson(json, options)).toStrictEqual({
      at: new Date(3),
      price: new Money(7n, 'EUR'),
      $fk: 1,
    })
  })
})
