import { Decimal } from '@prisma/client/runtime/client'
import { describe, expect, it } from 'vitest'
import { decodeValue, encodeArgs, encodeValue } from '../src/value-codec.ts'

describe('value codec', () => {
  it('round-trips the types Prisma returns, through JSON', () => {
    const value = {
      n: 2n ** 70n,
      d: new Decimal('-0.000123'),
      b: new Uint8Array([0, 255]),
      t: new Date(0),
      j: { $fkp: 'user data', nested: [null, 1, 'x'] },
      inf: Number.POSITIVE_INFINITY,
    }
    const back = decodeValue(JSON.parse(JSON.stringify(encodeValue(value)))) as typeof value
    expect(back.n).toBe(2n ** 70n)
    expect(Decimal.isDecimal(back.d) && back.d.equals(value.d)).toBe(true)
    expect(back.b).toEqual(value.b)
    expect(back.t).toEqual(value.t)
    expect(back.j).toEqual(value.j)
    expect(back.inf).toBe(Number.POSITIVE_INFINITY)
  })

  it('keys tell apart arguments JSON would merge', () => {
    class DbNull {}
    class JsonNull {}
    expect(encodeArgs({ where: { a: new DbNull() } })).not.toBe(encodeArgs({ where: { a: new JsonNull() } }))
    expect(encodeArgs({ a: 1n })).not.toBe(encodeArgs({ a: '1' }))
    expect(encodeArgs({ a: new Date(5) })).not.toBe(encodeArgs({ a: 5 }))
    expect(encodeArgs(undefined)).toBe(encodeArgs({}))
  })
})
