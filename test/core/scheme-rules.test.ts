import { describe, expect, it } from 'vitest'
import { Keyspace } from '../../packages/core/src/keyspace.ts'
import {
  conditionKeys,
  decodeScheme,
  encodeScheme,
  fieldsId,
  scheme,
  schemeBumps,
} from '../../packages/core/src/schemes.ts'
import { scopeValue } from '../../packages/core/src/scope-value.ts'

// The bump rule of schemes, on its own: what one change bumps for one scheme.

const keys = new Keyspace('rules', 'v1')
const fid = fieldsId(['category', 'published'])
const wide = keys.wide('posts', fid)
const field = (f: string, v: unknown) => keys.fieldValue('posts', fid, f, scopeValue(v))
const bumps = (
  s: ReturnType<typeof scheme>,
  after: Record<string, unknown>,
  changed = Object.keys(after),
) => {
  const out = new Set<string>()
  schemeBumps(keys, { table: 'posts', kind: 'update', pk: 1, after, changed }, s, out)
  return [...out]
}

describe('scheme bump rule', () => {
  const tracked = scheme(['published', 'category'], ['createdAt'], false, true)

  it('an image with every field bumps its condition', () => {
    const where = { category: 'a', published: true }
    expect(bumps(tracked, where)).toEqual(conditionKeys(keys, 'posts', ['category', 'published'], where))
  })

  it('an image with some fields bumps the key of one it has, preferring one that is not a boolean', () => {
    expect(bumps(tracked, { category: 'b', title: 'x' })).toEqual([field('category', 'b')])
    expect(bumps(tracked, { published: false })).toEqual([field('published', false)])
    expect(bumps(tracked, { published: true, category: undefined })).toEqual([field('published', true)])
  })

  it('an image with none of the fields bumps the scheme-wide key', () => {
    expect(bumps(tracked, { createdAt: 1 })).toEqual([wide])
  })

  it('a scheme stored without field keys (registered by an older reader) keeps the wide rule', () => {
    const old = decodeScheme(
      JSON.stringify({ f: ['category', 'published'], w: ['category', 'published'], l: false }),
    )!
    expect(old.fieldKeys).toBe(false)
    expect(bumps(old, { category: 'b' })).toEqual([wide])
    const stored = decodeScheme(encodeScheme(tracked))!
    expect(stored).toEqual(tracked)
    expect(bumps(stored, { category: 'b' })).toEqual([field('category', 'b')])
  })

  describe('leaving, for reads that do not name their members (counts)', () => {
    const counted = scheme(['published', 'category'], [], true, true)
    const leaveWide = keys.wide('posts', `${fid}:l`)
    const entered = (where: Record<string, unknown>) =>
      conditionKeys(keys, 'posts', ['category', 'published'], where)!

    it('an after image with the unchanged fields tells the condition left by a selective one', () => {
      // `published` written, `category` unchanged: the row left `category = 'a'` with its old `published`.
      expect(bumps(counted, { published: false, category: 'a' }, ['published']).sort()).toEqual(
        [...entered({ category: 'a', published: false }), field('category', 'a')].sort(),
      )
    })

    it('a boolean or null unchanged field is not selective: the scheme-wide leave key', () => {
      // `category` written, `published` unchanged: its field key would reach every category's lists.
      expect(bumps(counted, { published: true, category: 'b' }, ['category']).sort()).toEqual(
        [...entered({ category: 'b', published: true }), leaveWide].sort(),
      )
    })

    it('without the unchanged fields in the image, the scheme-wide leave key', () => {
      expect(bumps(counted, { published: false }, ['published']).sort()).toEqual(
        [field('published', false), leaveWide].sort(),
      )
    })

    it('a before image the write returned names the condition left', () => {
      const out = new Set<string>()
      const before = { published: true, category: 'a' }
      schemeBumps(
        keys,
        {
          table: 'posts',
          kind: 'update',
          pk: 1,
          before,
          after: { published: false },
          changed: ['published'],
        },
        counted,
        out,
      )
      expect([...out].sort()).toEqual(
        [...entered({ category: 'a', published: false }), ...entered(before)].sort(),
      )
    })
  })

  it('one-field lists have no field keys (an image lacking the field knows nothing)', () => {
    expect(scheme(['category'], [], false, true).fieldKeys).toBe(false)
  })
})
