import { createFreshkey, dep, InvalidKeyPartError, memoryStore } from '@freshkey/core'
import { etagOf, ifNoneMatchHits } from '@freshkey/http'
import { describe, expect, test } from 'vitest'

describe('etagOf', () => {
  test('is a short weak ETag: W/"<22 base64url chars>"', () => {
    const tag = etagOf('anything')
    expect(tag).toMatch(/^W\/"[A-Za-z0-9_-]{22}"$/)
    expect(tag.slice(3, -1).length).toBeLessThanOrEqual(32)
    expect(etagOf('anything')).toBe(tag)
    expect(etagOf('anything else')).not.toBe(tag)
  })

  test('is opaque and changes when a dependency is bumped', async () => {
    const fk = createFreshkey({ store: memoryStore(), namespace: 'secret-namespace', version: '7' })
    const parts = [dep.row('customer_accounts', 'alice@example.com'), 'profile', { lang: 'en' }]
    const key = await fk.keyFor(...parts)
    const tag = etagOf(key)
    for (const visible of ['secret-namespace', 'customer', 'accounts', 'alice', 'profile', 'lang'])
      expect(tag).not.toContain(visible)
    expect(etagOf(await fk.keyFor(...parts))).toBe(tag)
    await fk.invalidate(dep.row('customer_accounts', 'bob@example.com'))
    expect(etagOf(await fk.keyFor(...parts))).toBe(tag)
    await fk.invalidate(dep.row('customer_accounts', 'alice@example.com'))
    expect(etagOf(await fk.keyFor(...parts))).not.toBe(tag)
    await fk.close()
  })

  test('refuses what is not a key', () => {
    expect(() => etagOf('')).toThrow(InvalidKeyPartError)
    expect(() => etagOf(undefined as unknown as string)).toThrow(
      expect.objectContaining({ code: 'E_INVALID_KEY_PART' }),
    )
  })
})

describe('ifNoneMatchHits', () => {
  const tag = 'W/"abc"'
  test.each([
    ['W/"abc"', true],
    ['"abc"', true],
    ['"x", W/"abc"', true],
    ['"x",W/"abc" ', true],
    ['"abcd"', false],
    ['*', false],
    ['', false],
  ])('%j -> %s', (header, hit) => {
    expect(ifNoneMatchHits(header, tag)).toBe(hit)
    expect(ifNoneMatchHits(header, '"abc"')).toBe(hit)
  })
  test('absent header, and repeated headers', () => {
    expect(ifNoneMatchHits(undefined, tag)).toBe(false)
    expect(ifNoneMatchHits(['"x"', '"abc"'], tag)).toBe(true)
  })
})
