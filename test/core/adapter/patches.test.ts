import { patchMethods, unpatched } from '@freshkey/core/adapter'
import { describe, expect, test } from 'vitest'

class Orm {
  find(id: number): string {
    return `row ${id}`
  }
  save(): string {
    return 'saved'
  }
}

const tagging = (tag: string) => ({
  find: (original: (...a: any[]) => any) =>
    function (this: unknown, ...args: unknown[]) {
      return `${tag}(${original.apply(this, args)})`
    },
})

describe('patchMethods', () => {
  test('wraps once however many bindings patch; the last release restores the prototype', () => {
    const proto = class extends Orm {}.prototype
    const first = patchMethods(proto, tagging('a'))
    const second = patchMethods(proto, tagging('b'))
    expect(proto.find(1)).toBe('a(row 1)')
    first()
    expect(proto.find(1)).toBe('a(row 1)')
    second()
    expect(proto.find(1)).toBe('row 1')
    expect(Object.hasOwn(proto, 'find')).toBe(false)
  })

  test('an own method comes back as it was; a name without a method is skipped', () => {
    const target = { find: (id: number) => `own ${id}` } as Record<string, any>
    const release = patchMethods(target, { ...tagging('a'), missing: () => () => 'never' })
    expect(target.find(2)).toBe('a(own 2)')
    expect(target.missing).toBeUndefined()
    release()
    expect(target.find(2)).toBe('own 2')
  })

  test('a wrapper someone installed after ours is left in place at release', () => {
    const proto = class extends Orm {}.prototype
    const release = patchMethods(proto, tagging('a'))
    const ours = proto.find
    proto.find = function (this: Orm, id: number) {
      return `theirs(${ours.call(this, id)})`
    }
    release()
    expect(proto.find(3)).toBe('theirs(a(row 3))')
  })
})

describe('unpatched', () => {
  test('names the methods that are not (or no longer) our wrappers', () => {
    const proto = class extends Orm {}.prototype
    expect(unpatched(proto, ['find', 'save'])).toEqual(['find', 'save'])
    const release = patchMethods(proto, { ...tagging('a'), save: (o) => o })
    expect(unpatched(proto, ['find', 'save'])).toEqual([])
    proto.save = () => 'replaced'
    expect(unpatched(proto, ['find', 'save'])).toEqual(['save'])
    release()
    expect(unpatched(proto, ['find'])).toEqual(['find'])
  })
})
