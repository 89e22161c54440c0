import { setTimeout as sleep } from 'node:timers/promises'
import {
  ConfigError,
  createFreshkey,
  dep,
  type FreshkeyLogger,
  LoaderTimeoutError,
  memoryStore,
} from '@freshkey/core'
import { describe, expect, it } from 'vitest'
import { freshNamespace } from './helpers.ts'

const base = () => ({ store: memoryStore(), namespace: freshNamespace('opts'), logger: false as const })

describe('durations: seconds or strings, and a millisecond slip is impossible to miss', () => {
  it('accepts seconds and unit strings', async () => {
    const fk = createFreshkey({ ...base(), ttl: '5m', tokenTtl: '7d' })
    await fk.wrap('a', () => 1, { ttl: '250ms' })
    await fk.wrap('b', () => 1, { ttl: 30, staleWhileRevalidate: '1h' })
    await sleep(300)
    let loads = 0
    await fk.wrap('a', () => ++loads, { ttl: '250ms' })
    expect(loads).toBe(1)
  })

  it.each([
    [60_000, 'is ambiguous'],
    [-1, 'positive'],
    [0, 'positive'],
    ['1 hour', "like '250ms'"],
    ['', "like '250ms'"],
    [Number.NaN, 'positive'],
    [{}, 'must be seconds'],
  ])('refuses ttl %j with a ConfigError, where the mistake is made', async (ttl, message) => {
    expect(() => createFreshkey({ ...base(), ttl: ttl as never })).toThrow(message)
    const fk = createFreshkey(base())
    await expect(fk.wrap('k', () => 1, { ttl: ttl as never })).rejects.toBeInstanceOf(ConfigError)
  })
})

describe('regressions from the durability issue', () => {
  it('regression: bumpAttempts NaN or {} skipped every bump; now a ConfigError', () => {
    for (const bumpAttempts of [Number.NaN, {}, 0, 1.5, -1])
      expect(() => createFreshkey({ ...base(), bumpAttempts: bumpAttempts as never })).toThrow(ConfigError)
  })

  it('regression: cached({ deps: id => dep.row(...) }) with a single dependency never invalidated', async () => {
    const fk = createFreshkey(base())
    let n = 0
    const get = fk.cached(async (id: number) => ({ id, n: ++n }), {
      name: 'get',
      deps: (id) => dep.row('users', id),
    })
    await get(1)
    await get(1)
    await fk.changed({ table: 'users', kind: 'update', pk: 1 })
    expect((await get(1)).n).toBe(2)
    // Something that is not a dependency at all is refused where it is returned.
    const bad = fk.cached(async (id: number) => id, { name: 'bad', deps: (id) => ({ id }) as never })
    await expect(bad(1)).rejects.toMatchObject({ code: 'E_INVALID_DEPENDENCY' })
  })

  it('regression: a loader that never settled hung every later call for that key; a timeout rejects and frees the key', async () => {
    const fk = createFreshkey({ ...base(), leaseMs: 200 })
    let aborted = false
    const hung = fk.wrap(
      'hang',
      ({ signal }) =>
        new Promise<string>(() => {
          signal.addEventListener('abort', () => {
            aborted = true
          })
        }),
      { timeout: '100ms' },
    )
    await expect(hung).rejects.toBeInstanceOf(LoaderTimeoutError)
    expect(aborted).toBe(true)
    const t0 = Date.now()
    expect(await fk.wrap('hang', () => 'ok')).toBe('ok')
    expect(Date.now() - t0).toBeLessThan(150)
  })

  it('a loader that hangs without a timeout holds later callers for at most the lease time', async () => {
    const fk = createFreshkey({ ...base(), leaseMs: 150 })
    void fk.wrap('slow', () => new Promise(() => {})).catch(() => {})
    await sleep(10)
    const t0 = Date.now()
    expect(await fk.wrap('slow', () => 'second caller')).toBe('second caller')
    expect(Date.now() - t0).toBeLessThan(1000)
  })

  it('an AbortSignal stops waiting for the loader', async () => {
    const fk = createFreshkey(base())
    const controller = new AbortController()
    const waiting = fk.wrap('abortable', () => new Promise(() => {}), { signal: controller.signal })
    controller.abort(new Error('client went away'))
    await expect(waiting).rejects.toThrow('client went away')
  })
})

describe('fail loudly', () => {
  const recorder = () => {
    const lines: string[] = []
    const logger: FreshkeyLogger = {
      warn: (_o, msg) => lines.push(`warn ${msg}`),
      error: (_o, msg) => lines.push(`error ${msg}`),
    }
    return { lines, logger }
  }

  it('tells each distinct problem once: a value that cannot be serialized, an unreachable store', async () => {
    const { lines, logger } = recorder()
    const fk = createFreshkey({ store: memoryStore(), namespace: freshNamespace('loud'), logger })
    for (let i = 0; i < 3; i++) await fk.wrap(['fn', i], () => ({ fn() {} }))
    expect(lines.filter((l) => l.includes('could not be serialized'))).toHaveLength(1)
    expect(lines[0]).toMatch(/^warn \[freshkey\]/)
  })

  it('a bump that can be neither written nor deleted is an error-level message, every time', async () => {
    const { lines, logger } = recorder()
    const store = memoryStore()
    const failing = new Proxy(store, {
      get: (t, p) =>
        p === 'bump' || p === 'delete'
          ? () => Promise.reject(new Error('OOM command not allowed'))
          : Reflect.get(t, p, t),
    })
    const fk = createFreshkey({ store: failing, namespace: freshNamespace('loud'), logger, bumpAttempts: 1 })
    await fk.changed({ table: 'users', kind: 'update', pk: 1 })
    await fk.changed({ table: 'users', kind: 'update', pk: 2 })
    expect(
      lines.filter((l) => l.startsWith('error') && l.includes('could not be written or deleted')),
    ).toHaveLength(2)
  })

  it('configuration errors are thrown at once, with the option named', () => {
    expect(() => createFreshkey({ store: {} as never, namespace: 'n' })).toThrow('`store`')
    expect(() => createFreshkey({ store: memoryStore(), namespace: '' })).toThrow('`namespace`')
    expect(() => createFreshkey({ store: memoryStore(), namespace: 'n', logger: {} as never })).toThrow(
      '`logger`',
    )
    expect(() => createFreshkey({ store: memoryStore(), namespace: 'n', serializer: {} as never })).toThrow(
      '`serializer`',
    )
    expect(() => createFreshkey({ store: memoryStore(), namespace: 'n', fenceMs: 10 })).toThrow('`fenceMs`')
  })

  it('verify() reports the store checks', async () => {
    const fk = createFreshkey(base())
    const report = await fk.verify()
    expect(report.ok).toBe(true)
    expect(report.checks.map((c) => c.name)).toContain('reachable')
  })
})

describe('keys name what is cached', () => {
  it('regression: two loaders with the same deps returned each other’s values; a key of dependencies only is refused', async () => {
    const fk = createFreshkey(base())
    const deps = [dep.scope('posts', { category: 'x' })]
    fk.defineScope('posts', ['category'])
    await expect(fk.wrap(deps, () => ['list'])).rejects.toBeInstanceOf(ConfigError)
    expect(await fk.wrap(['list', ...deps], () => ['a', 'b'])).toEqual(['a', 'b'])
    expect(await fk.wrap(['count', ...deps], () => 2)).toBe(2)
    expect(await fk.wrap('list:x', () => ['a', 'b'], { deps })).toEqual(['a', 'b'])
    expect(await fk.wrap('count:x', () => 2, { deps })).toBe(2)
  })
})
