import {
  createFreshkey,
  type Dependency,
  dep,
  type Freshkey,
  type PrimaryKey,
  type Store,
} from '@freshkey/core'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freshNamespace, storeCases } from './helpers.ts'

// ---------------------------------------------------------------- a reference model of "same input"
// Two part lists must give the same key exactly when their models are equal (DESIGN rule 7). The
// model is written independently of the core's encoder so it can catch the encoder's mistakes.

type Json = string | number | boolean | null | Json[]

function valueModel(v: unknown): Json {
  if (typeof v === 'string') return ['s', v]
  if (typeof v === 'number') return ['d', Object.is(v, -0) ? '0' : String(v)]
  if (typeof v === 'bigint') return ['i', v.toString()]
  if (typeof v === 'boolean') return ['b', v]
  if (v === null) return ['n']
  if (v instanceof Date) return ['D', v.getTime()]
  if (Array.isArray(v)) return ['a', v.map(valueModel)]
  const rec = v as Record<string, unknown>
  const keys = Object.keys(rec)
    .filter((k) => rec[k] !== undefined)
    .sort()
  return ['o', keys.map((k) => [k, valueModel(rec[k])])]
}

/** Rebuilds plain objects with their keys inserted in reverse order, at every depth. */
function reorder(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reorder)
  if (v === null || typeof v !== 'object' || v instanceof Date) return v
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(v).reverse()) out[k] = reorder((v as Record<string, unknown>)[k])
  return out
}

interface Part {
  /** What is passed to keyFor. */
  readonly part: unknown
  /** The same input spelled differently (object key order, pk form, Alkey string). */
  readonly respelled: unknown
  readonly model: Json
}

// ---------------------------------------------------------------- generators

const SEPARATORS = [
  ':',
  '#',
  '%',
  '{',
  '}',
  '|',
  ',',
  '=',
  '&',
  '~',
  '[',
  ']',
  '.',
  '@',
  '*',
  '\n',
  ' ',
  '\u0000',
]
const sepChar = fc.constantFrom(...SEPARATORS, 'a', 'b', 's', 'd', '1', '0', 'é', '😀')
/** Unpaired UTF-16 surrogates: valid in a JS string, but not encodable as UTF-8. */
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c))

const shortText = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: sepChar, maxLength: 10 }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.oneof(sepChar, loneSurrogate), maxLength: 6 }) },
)
// Long strings go through SHA-256 (segments > 64 chars, key bodies > 200 chars).
const longText = fc.string({
  unit: fc.oneof(fc.constantFrom('a', ':', '#', '%', ','), loneSurrogate),
  minLength: 201,
  maxLength: 320,
})
const text = fc.oneof({ weight: 5, arbitrary: shortText }, { weight: 1, arbitrary: longText })

const value: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    fc.integer({ min: -5, max: 1000 }),
    fc.double({ noNaN: true }),
    fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
    fc.boolean(),
    fc.constant(null),
    fc.date({ noInvalidDate: true }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(shortText, tie('value'), { maxKeys: 4 }),
  ),
})).value

// Top-level strings shaped like `table#pk` are dependencies, not values: those come from `dependency`.
const valuePart: fc.Arbitrary<Part> = value
  .filter((v) => typeof v !== 'string' || !v.includes('#'))
  .map((v) => ({ part: v, respelled: reorder(v), model: ['v', valueModel(v)] }))

const name = fc
  .oneof({ weight: 4, arbitrary: shortText }, { weight: 1, arbitrary: longText })
  .filter((s) => s.length > 0)
// A single string pk never looks like a composite one (`a=1&b=2` is how a composite pk is spelled).
const singlePk = fc.oneof(
  fc.integer({ min: 0, max: 50 }),
  fc.bigInt({ min: 0n, max: 2n ** 80n }),
  name.filter((s) => !s.includes('=')),
)
const compositePk = fc.dictionary(name, singlePk, { minKeys: 1, maxKeys: 3 })

const pkText = (v: string | number | bigint) => String(v)
function pkModel(pk: PrimaryKey): Json {
  if (typeof pk !== 'object') return ['pk', pkText(pk)]
  const cols = Object.keys(pk).sort()
  if (cols.length === 1) return ['pk', pkText(pk[cols[0]!]!)]
  return ['cpk', cols.map((c) => [c, pkText(pk[c]!)])]
}
/** Another spelling of the same pk: number ↔ string ↔ bigint, composite columns reordered. */
function respellPk(pk: PrimaryKey): PrimaryKey {
  if (typeof pk === 'number') return String(pk)
  if (typeof pk === 'bigint') return pk.toString()
  if (typeof pk === 'string') return /^(0|[1-9]\d*)$/.test(pk) ? BigInt(pk) : pk
  return reorder(pk) as PrimaryKey
}
const alkeySafe = (s: string) => s !== '*' && !/[#\s]/.test(s)

const dependency: fc.Arbitrary<Part> = fc.oneof(
  fc.tuple(name, fc.oneof(singlePk, compositePk)).map(([table, pk]): Part => {
    const d = dep.row(table, pk)
    const asString = typeof pk !== 'object' && alkeySafe(table) && alkeySafe(String(pk))
    return {
      part: d,
      respelled: asString ? `${table}#${pk}` : dep.row(table, respellPk(pk)),
      model: ['row', table, pkModel(pk)],
    }
  }),
  name.map(
    (table): Part => ({
      part: dep.table(table),
      respelled: alkeySafe(table) ? `${table}#*` : dep.table(table),
      model: ['table', table],
    }),
  ),
  fc.constant<Part>({ part: dep.all(), respelled: '*#*', model: ['all'] }),
  name.map((tag): Part => ({ part: dep.tag(tag), respelled: dep.tag(tag), model: ['tag', tag] })),
)

const partList = fc.array(
  fc.oneof({ weight: 3, arbitrary: valuePart }, { weight: 2, arbitrary: dependency }),
  { maxLength: 5 },
)

const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('hex')

for (const c of storeCases()) {
  describe(`key encoding properties (${c.name})`, () => {
    let store: Store
    let fk: Freshkey
    beforeAll(() => {
      store = c.make()
      fk = createFreshkey({ store, namespace: freshNamespace('prop') })
    })
    afterAll(async () => {
      await fk.close()
      await store.close()
    })

    const runs = c.name === 'memoryStore' ? 300 : 100

    it('injective: different inputs never share a key; equal inputs always do', async () => {
      // Keys become Redis keys as UTF-8 bytes, so distinctness is checked on those bytes.
      await fc.assert(
        fc.asyncProperty(fc.array(partList, { minLength: 2, maxLength: 8 }), async (lists) => {
          const byModel = new Map<string, string>()
          const byKey = new Map<string, string>()
          for (const parts of lists) {
            const model = JSON.stringify(parts.map((p) => p.model))
            const key = utf8(await fk.keyFor(...parts.map((p) => p.part)))
            if (byModel.has(model)) expect(key).toBe(byModel.get(model))
            if (byKey.has(key)) expect(model).toBe(byKey.get(key))
            byModel.set(model, key)
            byKey.set(key, model)
          }
        }),
        { numRuns: runs },
      )
    })

    it('canonical: object key order, pk spelling and Alkey strings never change the key', async () => {
      await fc.assert(
        fc.asyncProperty(partList, async (parts) => {
          const key = await fk.keyFor(...parts.map((p) => p.part))
          expect(await fk.keyFor(...parts.map((p) => p.respelled))).toBe(key)
        }),
        { numRuns: runs },
      )
    })

    it('near misses: moving separators between parts or into strings changes the key', async () => {
      await fc.assert(
        fc.asyncProperty(shortText, shortText, async (a, b) => {
          fc.pre(!a.includes('#') && !b.includes('#'))
          const keys = [
            await fk.keyFor(a, b),
            await fk.keyFor(`${a},${b}`),
            await fk.keyFor(`${a}|${b}`),
            await fk.keyFor([a, b]),
            await fk.keyFor({ [a]: b }),
            await fk.keyFor(dep.tag(`${a}x`), b),
            await fk.keyFor(dep.table(`${a}x`), b),
          ].map(utf8)
          expect(new Set(keys).size).toBe(keys.length)
        }),
        { numRuns: runs },
      )
    })

    it('bounded: keys stay short however large the input (long parts are hashed)', async () => {
      const huge = fc.record({
        namespace: fc.string({ unit: sepChar, minLength: 1, maxLength: 32 }),
        version: fc.string({ unit: sepChar, minLength: 1, maxLength: 16 }),
        parts: fc.array(
          fc.oneof(
            longText,
            fc.array(longText, { maxLength: 20 }),
            dependency.map((p) => p.part),
          ),
          {
            minLength: 1,
            maxLength: 60,
          },
        ),
      })
      await fc.assert(
        fc.asyncProperty(huge, async ({ namespace, version, parts }) => {
          const local = createFreshkey({ store, namespace, version })
          const key = await local.keyFor(...parts)
          // 2 + 32 + 2 + 16 + 3 chars of prefix (escaped), 200 of body: well under 300.
          expect(key.length).toBeLessThanOrEqual(300)
          await local.close()
        }),
        { numRuns: c.name === 'memoryStore' ? 100 : 30 },
      )
      const giant = await fk.keyFor(
        'x'.repeat(1_000_000),
        Array.from({ length: 10_000 }, (_, i) => i),
      )
      expect(giant.length).toBeLessThanOrEqual(300)
    })

    // Regression guards for two injectivity holes.
    it('a sparse array hole is not the same key as no element', async () => {
      // biome-ignore lint/suspicious/noSparseArray: the hole is the point of this test
      const hole = await fk.keyFor([,]).then(
        (k) => k,
        (e: unknown) => e,
      )
      if (typeof hole === 'string') expect(hole).not.toBe(await fk.keyFor([]))
      else expect((hole as { code?: string }).code).toBe('E_INVALID_KEY_PART')
    })

    it('strings that differ only in unpaired surrogates never share a key as UTF-8', async () => {
      const pairs: [unknown[], unknown[]][] = [
        [['\uD800'], ['\uDC00']],
        [[`\uD800${'x'.repeat(300)}`], [`\uDBFF${'x'.repeat(300)}`]],
        [[dep.row(`t\uD800${'y'.repeat(70)}`, 1)], [dep.row(`t\uDFFF${'y'.repeat(70)}`, 1)]],
        [[dep.tag('\uD801')], [dep.tag('\uFFFD')]],
      ]
      for (const [a, b] of pairs) expect(utf8(await fk.keyFor(...a))).not.toBe(utf8(await fk.keyFor(...b)))
    })
  })
}

// Sanity of the reference model itself: it must tell apart what the API says is different.
describe('reference model', () => {
  it('separates values of different kinds and merges what the API says is the same', () => {
    const m = (v: unknown) => JSON.stringify(valueModel(v))
    expect(m(1)).not.toBe(m('1'))
    expect(m(1)).not.toBe(m(1n))
    expect(m({ a: 1, b: 2 })).toBe(m({ b: 2, a: 1 }))
    expect(m({ a: 1, b: undefined })).toBe(m({ a: 1 }))
    expect(JSON.stringify(pkModel({ id: 7 }))).toBe(JSON.stringify(pkModel('7')))
    expect(JSON.stringify(pkModel({ a: 1, b: 2n }))).toBe(
      JSON.stringify(pkModel(respellPk({ b: '2', a: '1' }))),
    )
    const d: Dependency = dep.row('t', respellPk(12))
    expect(d).toEqual(dep.row('t', 12))
  })
})
