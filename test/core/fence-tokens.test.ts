import { fencedToken, isFenced, ownFence, parseFences } from '@freshkey/core/adapter'
import { describe, expect, it } from 'vitest'

const now = 1_800_000_000_000

describe('fence tokens', () => {
  it('carry one deadline per commit under way, the newest last: that is the fence its caller lifts', () => {
    const t = fencedToken('abc:1@7', [now + 500, now + 900])
    expect(isFenced(t)).toBe(true)
    expect(parseFences(t, now, 0)).toEqual({ deadlines: [now + 500, now + 900], rest: 'abc:1@7' })
    expect(ownFence(t)).toBe(now + 900)
  })

  it('a fence whose deadline passed is not live', () => {
    const t = fencedToken('abc', [now - 1, now, now + 1])
    expect(parseFences(t, now, 0).deadlines).toEqual([now + 1])
  })

  it('an unfenced token has none; older forms count as 1 or n fences until the key expires', () => {
    expect(isFenced('abc:1@7')).toBe(false)
    expect(parseFences('abc:1@7', now, 0)).toEqual({ deadlines: [], rest: 'abc:1@7' })
    expect(ownFence('abc:1@7')).toBeUndefined()
    expect(ownFence(null)).toBeUndefined()
    expect(parseFences('~abc:1@7', now, now + 40)).toEqual({ deadlines: [now + 40], rest: 'abc:1@7' })
    expect(parseFences('~2~abc:1@7', now, now + 40)).toEqual({
      deadlines: [now + 40, now + 40],
      rest: 'abc:1@7',
    })
    expect(ownFence('~2~abc:1@7')).toBeUndefined()
  })
})
