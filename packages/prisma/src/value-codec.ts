import {
  fromTaggedJson,
  type TaggedJsonOptions,
  type TaggedJsonValue,
  type TaggedType,
  toTaggedJson,
} from '@freshkey/core'
import { Decimal } from '@prisma/client/runtime/client'

const decimal: TaggedType<Decimal> = {
  tag: 'decimal',
  test: (value) => Decimal.isDecimal(value),
  encode: (value) => value.toString(),
  decode: (payload) => new Decimal(payload as string),
}

// Instances without own data (Prisma.DbNull vs Prisma.JsonNull) differ only by class: keep it in keys.
const instance: TaggedType = {
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

// A key of our own: the result then passes through core's jsonSerializer as plain JSON, unescaped.
const OPTIONS: TaggedJsonOptions = { key: '$fkp', types: [decimal, instance] }

/**
 * Turns a Prisma result into plain JSON that any serializer keeps: `Date`, `bigint`, `Decimal`,
 * `Uint8Array` (Bytes) and non-finite numbers become tagged objects, so a cache hit returns the
 * same types a database read does.
 */
export function encodeValue(value: unknown): TaggedJsonValue {
  return toTaggedJson(value, OPTIONS)
}

/** Inverse of {@link encodeValue}. */
export function decodeValue(value: unknown): unknown {
  return fromTaggedJson(value, OPTIONS)
}

/** A stable text form of query arguments for a cache key (types that JSON would lose are tagged). */
export function encodeArgs(args: unknown): string {
  return JSON.stringify(encodeValue(args === undefined ? {} : args))
}
