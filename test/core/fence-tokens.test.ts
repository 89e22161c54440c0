import { fenceCount, fencedToken, isFenced, unfenced } from '@freshkey/core/adapter'
import { describe, expect, it } from 'vitest'

describe('fence tokens', () => {
  it('carry how many commits are under way on the key', () => {
    const t = fencedToken('abc:1@7', 2)
    expect(isFenced(t)).toBe(true)
    expect(fenceCount(t)).toBe(2)
    expect(unfenced(t)).toBe('abc:1@7')
  })

  it('an unfenced token has none; an older writer\u2019s `~token` counts as one', () => {
    expect(fenceCount('abc:1@7')).toBe(0)
    expect(unfenced('abc:1@7')).toBe('abc:1@7')
    expect(fenceCount('~abc:1@7')).toBe(1)
    expect(unfenced('~abc:1@7')).toBe('abc:1@7')
    expect(fenceCount(null)).toBe(0)
  })
})
