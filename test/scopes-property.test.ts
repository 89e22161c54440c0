import { type Change, createFreshkey, type Dependency, dep, memoryStore, type Store } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import { serviceUrl } from './support/services.ts'

// Oracle test: an in-memory table is the truth. Every cached list is read after every change; a
// hit whose value differs from the truth is stale (must never happen), a miss whose list did not
// change is needless (measured: the precision of the scope rules).

type Logical = boolean | string | number | null
type Row = { id: number; title: number } & Record<Scoped, Logical>
type Scoped = 'published' | 'category' | 'rank' | 'day' | 'code'

const T1 = 1700000000000
const T2 = 1710000000000
/** Small logical domains, each value with the forms drivers and apps use for it. */
const DOMAINS: Record<Scoped, { values: Logical[]; forms: (v: Logical) => unknown[] }> = {
  published: {
    values: [true, false, null],
    forms: (v) => (v === null ? [null] : v ? [true, 1, '1', 1n] : [false, 0, '0', 0n]),
  },
  // Compared under a lenient collation (MySQL's default): case and trailing spaces do not matter.
  category: {
    values: ['x', 'y', 'z', null],
    forms: (v) => (v === null ? [null] : [v, (v as string).toUpperCase(), `${v} `]),
  },
  rank: {
    values: [1, 2, 10.5, null],
    forms: (v) =>
      v === null
        ? [null]
        : v === 10.5
          ? [10.5, '10.50', '10.5']
          : [v, String(v), BigInt(v as number), `${v}.0`],
  },
  day: {
    values: [T1, T2, null],
    forms: (v) => (v === null ? [null] : [new Date(v as number), v, new Date(v as number).toISOString()]),
  },
  // A text column: '1' and '1.0' are different rows of different lists, yet normalize alike.
  code: { values: ['1', '1.0', 'a', null], forms: (v) => [v] },
}
const SCOPED = Object.keys(DOMAINS) as Scoped[]
const FIELDS = [...SCOPED, 'title'] as const
type Field = (typeof FIELDS)[number]

const form = (f: Scoped, v: Logical, seed: number) => {
  const forms = DOMAINS[f].forms(v)
  return forms[seed % forms.length]
}
/** The where form of a value: `undefined` stands for null too. */
const whereForm = (f: Scoped, v: Logical, seed: number) =>
  v === null && seed % 2 === 1 ? undefined : form(f, v, seed)

/**
 * The value form each field takes in one source. Like real drivers and apps, a source is consistent
 * within a run: before images come from the driver (e.g. bigint as '1'), after images from the app (1).
 */
type Forms = readonly number[]
const formsArb = fc.array(fc.nat(), { minLength: SCOPED.length, maxLength: SCOPED.length })

const logicalRow = fc.record({
  published: fc.constantFrom(...DOMAINS.published.values),
  category: fc.constantFrom(...DOMAINS.category.values),
  rank: fc.constantFrom(...DOMAINS.rank.values),
  day: fc.constantFrom(...DOMAINS.day.values),
  code: fc.constantFrom(...DOMAINS.code.values),
  title: fc.nat({ max: 3 }),
})

const filterSeed = fc.record({
  list: fc.nat(),
  picks: fc.tuple(
    ...SCOPED.map((f) =>
      fc.record({
        values: fc.uniqueArray(fc.nat({ max: DOMAINS[f].values.length - 1 }), { minLength: 1, maxLength: 2 }),
        form: fc.nat(),
        array: fc.boolean(),
      }),
    ),
  ),
})

const step = fc.record({
  kind: fc.constantFrom('insert', 'insert', 'update', 'update', 'update', 'update', 'delete', 'bulk'),
  pick: fc.nat(),
  row: logicalRow,
  mask: fc.subarray([...FIELDS], { minLength: 1 }),
  before: fc.constantFrom('full', 'full', 'scopedOnly', 'unknown'),
  after: fc.constantFrom('full', 'written', 'written', 'missing'),
  changed: fc.constantFrom('exact', 'exact', 'written', 'all', 'unknown'),
  inTransaction: fc.boolean(),
})
type Step = typeof step extends fc.Arbitrary<infer S> ? S : never

const scenario = fc.record({
  declared: fc.uniqueArray(fc.subarray(SCOPED, { minLength: 1, maxLength: 3 }), {
    minLength: 1,
    maxLength: 3,
    selector: (l) => l.join(),
  }),
  filters: fc.array(filterSeed, { minLength: 4, maxLength: 10 }),
  rows: fc.array(logicalRow, { maxLength: 6 }),
  steps: fc.array(step, { minLength: 5, maxLength: 20 }),
  driver: formsArb,
  app: formsArb,
})

interface Filter {
  dep: Dependency
  accepts: Partial<Record<Scoped, Logical[]>>
}

function buildFilter(
  seed: typeof filterSeed extends fc.Arbitrary<infer S> ? S : never,
  declared: Scoped[][],
): Filter {
  const list = declared[seed.list % declared.length]!
  const where: Record<string, unknown> = {}
  const accepts: Filter['accepts'] = {}
  for (const f of list) {
    const pick = seed.picks[SCOPED.indexOf(f)]!
    const values = pick.values.map((i) => DOMAINS[f].values[i]!)
    accepts[f] = values
    const forms = values.map((v, i) => whereForm(f, v, pick.form + i))
    where[f] = forms.length > 1 || pick.array ? forms : forms[0]
  }
  return { dep: dep.scope('items', where), accepts }
}

const matches = (row: Row, filter: Filter) =>
  Object.entries(filter.accepts).every(([f, values]) => values.includes(row[f as Scoped]))
const truth = (rows: Map<number, Row>, filter: Filter) =>
  [...rows.values()]
    .filter((r) => matches(r, filter))
    .map((r) => r.id)
    .sort((a, b) => a - b)
    .join(',')

/** A row image in a source's value forms; `fields` limits it to those fields. */
function image(row: Row, forms: Forms, fields: readonly Field[] = FIELDS): Record<string, unknown> {
  const out: Record<string, unknown> = { id: row.id }
  for (const f of fields) out[f] = f === 'title' ? row.title : form(f, row[f], forms[SCOPED.indexOf(f)]!)
  return out
}

/** What the change told: complete images, or what was unknown (which forces scope-wide bumps). */
type Info = 'complete' | 'unknown before' | 'partial after' | 'bulk'

/** Applies one step to the oracle table and returns the change an adapter would report. */
function apply(
  rows: Map<number, Row>,
  s: Step,
  nextId: () => number,
  forms: { driver: Forms; app: Forms },
): { change: Change; info: Info } {
  const ids = [...rows.keys()]
  if (s.kind === 'insert' || ids.length === 0) {
    const row: Row = { id: nextId(), ...s.row }
    rows.set(row.id, row)
    const missing = s.after === 'missing' ? [SCOPED[s.pick % SCOPED.length]!] : []
    const after = image(
      row,
      forms.app,
      FIELDS.filter((f) => !missing.includes(f as Scoped)),
    )
    return {
      change: { table: 'items', kind: 'insert', pk: row.id, after },
      info: missing.length === 0 ? 'complete' : 'partial after',
    }
  }
  const old = rows.get(ids[s.pick % ids.length]!)!
  const before =
    s.before === 'unknown' ? undefined : image(old, forms.driver, s.before === 'scopedOnly' ? SCOPED : FIELDS)
  if (s.kind === 'delete') {
    rows.delete(old.id)
    return {
      change: { table: 'items', kind: 'delete', pk: old.id, before },
      info: before ? 'complete' : 'unknown before',
    }
  }
  if (s.kind === 'bulk') {
    for (const r of rows.values()) {
      if ((r.id + s.pick) % 2 === 0) for (const f of s.mask) Object.assign(r, { [f]: s.row[f] })
    }
    return { change: { table: 'items', kind: 'bulk' }, info: 'bulk' }
  }
  const row: Row = { ...old }
  for (const f of s.mask) Object.assign(row, { [f]: s.row[f] })
  rows.set(row.id, row)
  const changedFields = FIELDS.filter((f) => row[f] !== old[f])
  // `written` is what an ORM reports for a save of the masked fields (Prisma's `data` keys).
  const changed = { exact: changedFields, written: s.mask, all: [...FIELDS], unknown: undefined }[s.changed]
  let written: readonly Field[] = s.after === 'full' ? FIELDS : s.mask
  const dropped = s.after === 'missing' ? changedFields.find((f) => f !== 'title') : undefined
  if (dropped) written = written.filter((f) => f !== dropped)
  const after = image(row, forms.app, written)
  // Complete: the before image is known and the after image holds every field that may have changed.
  const afterComplete = (changed ?? FIELDS).every((f) => written.includes(f))
  const info = !before ? 'unknown before' : afterComplete ? 'complete' : 'partial after'
  return { change: { table: 'items', kind: 'update', pk: row.id, before, after, changed }, info }
}

const redisUrl = serviceUrl('REDIS_URL')
const backends: [string, () => Store, number][] = [['memoryStore', () => memoryStore(), 150]]
if (redisUrl) backends.push(['redisStore', () => redisStore(redisUrl), 25])

describe.each(backends)('scope rules against an oracle on %s', (name, makeStore, numRuns) => {
  const store = makeStore()
  const totals = { checks: 0, stale: 0 }
  const byInfo = new Map<Info | 'all', { misses: number; needless: number }>()
  const count = (info: Info | 'all', needless: boolean) => {
    const t = byInfo.get(info) ?? { misses: 0, needless: 0 }
    t.misses++
    if (needless) t.needless++
    byInfo.set(info, t)
  }
  let seq = 0
  afterAll(async () => {
    await store.close()
    const line = (info: Info | 'all') => {
      const { misses, needless } = byInfo.get(info) ?? { misses: 0, needless: 0 }
      const pct = misses === 0 ? '100.0' : ((100 * (misses - needless)) / misses).toFixed(1)
      return `${pct}% (needless misses ${needless} / ${misses})`
    }
    const causes = (['complete', 'unknown before', 'partial after', 'bulk'] as const).map(
      (i) => `${i}: ${line(i)}`,
    )
    console.log(
      `scopes precision on ${name}: ${line('all')} over ${totals.checks} checks, ${totals.stale} stale\n  by change: ${causes.join('; ')}`,
    )
  })

  it('never serves a stale list, and counts needless misses', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ declared, filters: seeds, rows: initial, steps, driver, app }) => {
        const fk = createFreshkey({ store, namespace: `scopes-prop-${process.pid}-${seq++}` })
        fk.defineScope('items', declared)
        let id = 0
        const nextId = () => ++id
        const rows = new Map<number, Row>()
        for (const r of initial) {
          const row = { id: nextId(), ...r }
          rows.set(row.id, row)
        }
        const filters = seeds.map((s) => buildFilter(s, declared))
        const seen: string[] = []
        const read = async (i: number) => {
          const filter = filters[i]!
          const now = truth(rows, filter)
          let loaded = false
          // Keyed by the dependency alone: filters whose where values only normalize alike
          // (code '1' and '1.0') share conditions and must still get their own cached value.
          const got = await fk.wrap(['v', filter.dep], () => {
            loaded = true
            return now
          })
          return { got, now, loaded }
        }
        for (let i = 0; i < filters.length; i++) seen[i] = (await read(i)).now
        for (const s of steps) {
          const applied = apply(rows, s, nextId, { driver, app })
          if (s.inTransaction) {
            const tx = fk.transaction()
            tx.record(applied.change)
            await tx.commit()
          } else {
            await fk.changed(applied.change)
          }
          for (let i = 0; i < filters.length; i++) {
            const { got, now, loaded } = await read(i)
            totals.checks++
            if (!loaded && got !== now) totals.stale++
            expect(
              got,
              `list ${i} after ${JSON.stringify(applied.change, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))}`,
            ).toBe(now)
            if (loaded) {
              count('all', seen[i] === now)
              count(applied.info, seen[i] === now)
            }
            seen[i] = now
          }
        }
      }),
      { numRuns },
    )
    expect(totals.stale).toBe(0)
    expect(totals.checks).toBeGreaterThan(numRuns * 10)
  })
})
