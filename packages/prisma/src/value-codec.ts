import { Decimal } from '@prisma/client/runtime/client'

const TAG = '$fkp'

type Encoded = null | boolean | number | string | Encoded[] | { [key: string]: Encoded }

function isDecimal(v: object): boolean {
  return Decimal.isDecimal(v)
}

/**
 * Turns a Prisma result into plain JSON that any serializer keeps: `Date`, `bigint`, `Decimal`,
 * `Uint8Array` (Bytes) and non-finite numbers become tagged objects, so a cache hit returns the
 * same types a database read does.
 */
export function encodeValue(value: unknown): Encoded {
  switch (typeof value) {
    case 'undefined':
      return { [TAG]: 'u' }
    case 'bigint':
      return { [TAG]: 'n', v: value.toString() }
    case 'number':
      return Number.isFinite(value) ? value : { [TAG]: 'f', v: String(value) }
    case 'string':
    case 'boolean':
      return value
    case 'function':
    case 'symbol':
      return null
  }
  if (value === null) return null
  const obj = value as object
  if (obj instanceof Date) return { [TAG]: 'd', v: obj.getTime() }
  if (obj instanceof Uint8Array)
    return { [TAG]: 'b', v: Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength).toString('base64') }
  if (isDecimal(obj)) return { [TAG]: 'm', v: obj.toString() }
  if (Array.isArray(obj)) return obj.map(encodeValue)
  const out: Record<string, Encoded> = {}
  for (const [k, v] of Object.entries(obj)) out[k] = encodeValue(v)
  const proto = Object.getPrototypeOf(obj)
  // Instances without own data (Prisma.DbNull vs Prisma.JsonNull) differ only by class: keep it in keys.
  if (proto !== Object.prototype && proto !== null)
    return { [TAG]: 'c', c: String(proto?.constructor?.name), v: out }
  return Object.hasOwn(out, TAG) ? { [TAG]: 'o', v: out } : out
}

/** Inverse of {@link encodeValue}. */
export function decodeValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(decodeValue)
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
      case 'b':
        return new Uint8Array(Buffer.from(v as string, 'base64'))
      case 'm':
        return new Decimal(v as string)
      case 'c':
      case 'o': {
        const out: Record<string, unknown> = {}
        for (const [k, x] of Object.entries(v as object)) out[k] = decodeValue(x)
        return out
      }
    }
  }
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(rec)) out[k] = decodeValue(x)
  return out
}

/** A stable text form of query arguments for a cache key (types that JSON would lose are tagged). */
export function encodeArgs(args: unknown): string {
  return JSON.stringify(encodeValue(args === undefined ? {} : args))
}
