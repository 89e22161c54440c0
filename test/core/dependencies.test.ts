import {
  createFreshkey,
  type Dependency,
  dep,
  type Freshkey,
  formatDependency,
  InvalidDependencyError,
  isDependency,
  parseDependency,
  type Store,
  toDependency,
} from '@freshkey/core'
import { canonicalPk } from '@freshkey/core/adapter'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freshNamespace, storeCases } from './helpers.ts'

describe('dependency builders', () => {
  it('dep.row / table / all / tag build tagged, frozen dependencies', () => {
    const row = dep.row('users', 1)
    expect(row).toMatchObject({ type: 'row', table: 'users', pk: '1' })
    expect(dep.table('users')).toMatchObject({ type: 'table', table: 'users' })
    expect(dep.all()).toMatchObject({ type: 'all' })
    expect(dep.tag('home')).toMatchObject({ type: 'tag', name: 'home' })
    for (const d of [row, dep.table('users'), dep.all(), dep.tag('home')]) {
      expect(isDependency(d)).toBe(true)
      expect(Object.isFrozen(d)).toBe(true)
    }
    // A look-alike plain object is a value, not a dependency: only the builders mint dependencies.
    expect(isDependency({ type: 'row', table: 'users', pk: '1' })).toBe(false)
  })

  it('a pk compares by its string form: 1, "1" and 1n name the same row', () => {
    expect(dep.row('users', 1)).toEqual(dep.row('users', '1'))
    expect(dep.row('users', 1n)).toEqual(dep.row('users', '1'))
    expect(canonicalPk(42)).toBe('42')
    expect(canonicalPk(42n)).toBe('42')
    expect(canonicalPk('42')).toBe('42')
    // bigint ids past 2^53 arrive as strings from drivers; both forms must meet.
    expect(canonicalPk(9007199254740993n)).toBe(canonicalPk('9007199254740993'))
    // Huge integral numbers must not turn into exponent notation ('1e+21') that no bigint matches.
    expect(canonicalPk(1e21)).toBe(canonicalPk(10n ** 21n))
    expect(canonicalPk(-0)).toBe(canonicalPk(0))
  })

  it('different pks stay different rows', () => {
    expect(canonicalPk(1)).not.toBe(canonicalPk(10))
    expect(canonicalPk('01')).not.toBe(canonicalPk(1))
    expect(canonicalPk(1.5)).not.toBe(canonicalPk(15))
  })

  it('a composite pk ignores column order and compares each field by its string form', () => {
    const a = canonicalPk({ tenant: 1, id: 2n })
    expect(canonicalPk({ id: '2', tenant: '1' })).toBe(a)
    expect(canonicalPk({ id: 2, tenant: 1n })).toBe(a)
    expect(dep.row('memberships', { b: 1, a: 2 })).toEqual(dep.row('memberships', { a: 2, b: 1 }))
  })

  it('a one-column composite pk equals its value', () => {
    expect(canonicalPk({ id: 7 })).toBe(canonicalPk(7))
    expect(dep.row('users', { id: '7' })).toEqual(dep.row('users', 7n))
  })

  it('composite pk separators inside values never make two different keys meet', () => {
    // Escaping keeps `{a: 'x&b=y', c: 1}` apart from `{a: 'x', b: 'y', c: 1}`.
    expect(canonicalPk({ a: 'x&b=y', c: 1 })).not.toBe(canonicalPk({ a: 'x', b: 'y', c: 1 }))
    expect(canonicalPk({ 'a=b': 1, c: 2 })).not.toBe(canonicalPk({ a: 'b=1', c: 2 }))
    expect(canonicalPk({ a: '%26', b: 1 })).not.toBe(canonicalPk({ a: '&', b: 1 }))
  })

  it('Alkey strings parse to the same dependencies as the builders', () => {
    expect(parseDependency('users#1')).toEqual(dep.row('users', 1))
    expect(parseDependency('users#*')).toEqual(dep.table('users'))
    expect(parseDependency('*#*')).toBe(dep.all())
    expect(toDependency('users#1')).toEqual(dep.row('users', 1n))
    expect(toDependency(dep.tag('x'))).toEqual(dep.tag('x'))
  })

  it('formatDependency gives the Alkey string that parses back to the same dependency', () => {
    const deps: Dependency[] = [
      dep.row('users', 1),
      dep.row('m', { a: 1, b: 'x' }),
      dep.table('users'),
      dep.all(),
    ]
    for (const d of deps) expect(parseDependency(formatDependency(d))).toEqual(d)
    expect(formatDependency(dep.row('users', 1n))).toBe('users#1')
    expect(formatDependency(dep.tag('home'))).toBe('tag:home')
  })
})

for (const c of storeCases()) {
  describe(`dependency forms in keys (${c.name})`, () => {
    let store: Store
    let fk: Freshkey
    beforeAll(() => {
      store = c.make()
      fk = createFreshkey({ store, namespace: freshNamespace('deps') })
    })
    afterAll(async () => {
      await fk.close()
      await store.close()
    })

    it('every spelling of one row yields the same key', async () => {
      const key = await fk.keyFor(dep.row('users', 1))
      for (const same of [
        dep.row('users', '1'),
        dep.row('users', 1n),
        dep.row('users', { id: 1 }),
        'users#1',
      ]) {
        expect(await fk.keyFor(same)).toBe(key)
      }
      expect(await fk.keyFor(dep.row('users', 2))).not.toBe(key)
    })

    it('Alkey strings mean the same dependency as the objects: users#1, users#*, *#*', async () => {
      expect(await fk.keyFor('users#1', 'page', 2)).toBe(await fk.keyFor(dep.row('users', 1), 'page', 2))
      expect(await fk.keyFor('users#*')).toBe(await fk.keyFor(dep.table('users')))
      expect(await fk.keyFor('*#*')).toBe(await fk.keyFor(dep.all()))
      // ...and they are dependencies, not the plain string values.
      const before = await fk.keyFor('users#*')
      await fk.invalidate(dep.table('users'))
      expect(await fk.keyFor('users#*')).not.toBe(before)
    })

    it('a bump through one spelling invalidates keys built with another', async () => {
      const viaObject = await fk.keyFor(dep.row('orders', { shop: 3, id: 9n }))
      const viaString = await fk.keyFor('orders#id=9&shop=3')
      expect(viaString).toBe(viaObject)
      await fk.invalidate('orders#id=9&shop=3')
      expect(await fk.keyFor(dep.row('orders', { id: '9', shop: 3 }))).not.toBe(viaObject)

      const user = await fk.keyFor(dep.row('users', 77n))
      await fk.changed({ table: 'users', kind: 'update', pk: '77' })
      expect(await fk.keyFor(dep.row('users', 77))).not.toBe(user)
    })

    it('a tag and a table or row of the same name are different dependencies', async () => {
      const keys = await Promise.all([
        fk.keyFor(dep.tag('users')),
        fk.keyFor(dep.table('users')),
        fk.keyFor(dep.row('users', 'users')),
        fk.keyFor('users'),
      ])
      expect(new Set(keys).size).toBe(4)
    })

    // Regression guard ("Alkey strings"): `invalidate` must not accept as a
    // dependency a string that `keyFor` reads as a plain value, or the bump silently reaches nothing.
    it.each(['users#john doe', 'a#b#c'])(
      'invalidate(%j) and keyFor of the same string agree on what it means',
      async (text) => {
        const before = await fk.keyFor(text)
        const outcome = await fk.invalidate(text).then(
          () => 'bumped',
          (e: unknown) => e,
        )
        if (outcome === 'bumped') {
          expect(await fk.keyFor(text)).not.toBe(before)
        } else {
          expect(outcome).toBeInstanceOf(InvalidDependencyError)
          expect((outcome as InvalidDependencyError).code).toBe('E_INVALID_DEPENDENCY')
        }
      },
    )
  })
}
