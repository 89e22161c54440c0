import { fromTaggedJson, type TaggedType, toTaggedJson } from '@freshkey/core'
import { classInstances } from '@freshkey/core/adapter'
import { Decimal } from '@prisma/client/runtime/client'

/**
 * Round-trips Prisma's `Decimal` through freshkey's JSON serializer, for values cached with `fk.wrap`:
 * `createFreshkey({ serializer: createJsonSerializer({ types: [prismaDecimal] }), ... })`.
 */
export const prismaDecimal: TaggedType<Decimal> = {
  tag: 'decimal',
  test: (value) => Decimal.isDecimal(value),
  encode: (value) => value.toString(),
  decode: (payload) => new Decimal(payload as string),
}

// A key of our own: the result then passes through core's jsonSerializer as plain JSON, unescaped.
const OPTIONS = { key: '$fkp', types: [prismaDecimal, classInstances] }

/** A Prisma result as JSON any serializer keeps (`Date`, `bigint`, `Decimal`, Bytes… tagged), and back. */
export const encodeValue = (value: unknown) => toTaggedJson(value, OPTIONS)
export const decodeValue = (value: unknown): unknown => fromTaggedJson(value, OPTIONS)

/** A stable text form of query arguments for a cache key (types that JSON would lose are tagged). */
export const encodeArgs = (args: unknown): string => JSON.stringify(encodeValue(args ?? {}))
