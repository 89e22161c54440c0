import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { main } from '@freshkey/cli'
import { createFreshkey, dep } from '@freshkey/core'
import { Keyspace } from '@freshkey/core/adapter'
import { redisStore } from '@freshkey/redis'
import { describe, expect, it } from 'vitest'
import { serviceUrl } from '../../../test/support/services.ts'

// The operator command against a real Redis (the run's throwaway server and Cluster).
const url = serviceUrl('REDIS_URL')
const nodes = serviceUrl('REDIS_CLUSTER_NODES')

async function run(...argv: string[]) {
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

async function seed(target: Parameters<typeof redisStore>[0], namespace: string) {
  const store = redisStore(target)
  const fk = createFreshkey({ store, namespace, version: '2', logger: false })
  await store.ready(10_000)
  await fk.wrap(['user', dep.row('users', 1)], async () => ({ name: 'Ada' }), { ttl: 60 })
  for (let t = 0; t < 12; t++) await fk.wrap([`list:${t}`, dep.table(`t${t}`)], async () => [t])
  await fk.invalidate(dep.row('users', 1))
  await store.bump({ keys: [new Keyspace(namespace, '2').row('users', 'fenced')], ttl: 60, fenceMs: 60_000 })
  await fk.close()
  await store.close()
}

describe.skipIf(!url)('freshkey CLI, standalone Redis', () => {
  const namespace = `cli-${process.pid}-${Date.now()}`
  const ks = new Keyspace(namespace, '2')

  it('inspect shows an entry: dependencies, tokens stored vs now, age, fresh-until, generation', async () => {
    await seed(url!, namespace)
    const store = redisStore(url!)
    const fk = createFreshkey({ store, namespace, version: '2', logger: false })
    await store.ready()
    await fk.wrap(['user', dep.row('users', 1)], async () => ({ name: 'Ada' }), { ttl: 60 })
    const entryKey = (
      await (store.client as unknown as { keys(p: string): Promise<string[]> }).keys(
        `fk:{${namespace}:@2:*user*}:v`,
      )
    )[0]!
    await fk.close()
    await store.close()
    const json = await run('inspect', entryKey, '--url', url!, '--json')
    expect(json.code).toBe(0)
    const r = JSON.parse(json.out)
    expect(r.type).toBe('entry')
    expect(r.valid).toBe(true)
    expect(r.generation.same).toBe(true)
    expect(r.ageMs).toBeGreaterThanOrEqual(0)
    expect(r.freshForMs).toBeGreaterThan(50_000)
    expect(r.deps.map((d: { key: string }) => d.key).sort()).toEqual(
      [ks.bulk('users'), ks.row('users', '1')].sort(),
    )
    expect(r.deps.every((d: { same: boolean }) => d.same)).toBe(true)
    const text = await run('inspect', entryKey.slice(3), '--url', url!)
    expect(text.out).toMatch(/valid +yes/)
    expect(text.out).toMatch(/fresh until/)
    expect(text.out).toMatch(/= \{cli-.*:t:users\}:r:1/)
  })

  it('inspect shows a token, its TTL, and whether a commit fenced it', async () => {
    const plain = JSON.parse((await run('inspect', ks.row('users', '1'), '--url', url!, '--json')).out)
    expect(plain).toMatchObject({ type: 'token', kind: 'row', fenced: false })
    expect(plain.expiresInMs).toBeGreaterThan(0)
    const fenced = await run('inspect', ks.row('users', 'fenced'), '--url', url!)
    expect(fenced.out).toMatch(/fenced: a commit is in flight/)
    const missing = await run('inspect', ks.row('users', 'never'), '--url', url!)
    expect(missing.code).toBe(1)
    expect(missing.out).toMatch(/no such key/)
  })

  it('stats counts keys per kind and version', async () => {
    const r = JSON.parse((await run('stats', '--namespace', namespace, '--url', url!, '--json')).out)
    const n = r.namespaces[namespace]
    expect(n.keys['value@2']).toBe(13)
    expect(n.keys.table).toBe(12)
    expect(n.keys.row).toBe(2)
    expect(n.keys.versions).toBe(1)
    expect(r.masters).toHaveLength(1)
    const text = await run('stats', '--namespace', namespace, '--url', url!)
    expect(text.out).toMatch(/value@2 +13 keys/)
  })

  it('purge --version deletes that version’s values only; a whole namespace needs --yes', async () => {
    const dry = JSON.parse(
      (await run('purge', '--namespace', namespace, '--version', '2', '--dry-run', '--url', url!, '--json'))
        .out,
    )
    expect(dry).toMatchObject({ keys: 13, deleted: 0, dryRun: true })
    const done = await run('purge', '--namespace', namespace, '--version', '2', '--url', url!)
    expect(done.code).toBe(0)
    expect(done.out).toMatch(/deleted 13 keys/)
    const after = JSON.parse((await run('stats', '--namespace', namespace, '--url', url!, '--json')).out)
    expect(after.namespaces[namespace].keys['value@2']).toBeUndefined()
    expect(after.namespaces[namespace].keys.table).toBe(12)
    const refused = await run('purge', '--namespace', namespace, '--url', url!)
    expect(refused.code).toBe(1)
    expect(refused.err).toMatch(/--yes/)
    const all = await run('purge', '--namespace', namespace, '--yes', '--url', url!)
    expect(all.code).toBe(0)
    expect(
      JSON.parse((await run('stats', '--namespace', namespace, '--url', url!, '--json')).out).namespaces,
    ).toEqual({})
  })

  it('says how to use it', async () => {
    expect((await run()).code).toBe(2)
    expect((await run('frobnicate')).err).toMatch(/unknown command/)
    expect((await run('--help')).out).toMatch(/usage: freshkey/)
  })

  const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url))
  // The README's test command builds first: a missing bin is a failure, never a skip.
  it('the built bin runs (REDIS_URL from the environment)', async () => {
    expect(existsSync(bin), `${bin} is missing: run pnpm run build`).toBe(true)
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [bin, 'stats', '--namespace', 'none-such'],
      {
        env: { ...process.env, REDIS_URL: url! },
      },
    )
    expect(stdout).toMatch(/used_memory/)
  })
})

describe.skipIf(!nodes)('freshkey CLI, Redis Cluster', () => {
  it('stats reports keys per master; inspect and purge work across slots', async () => {
    const namespace = `cli-cluster-${process.pid}-${Date.now()}`
    const list = nodes!.split(',')
    await seed({ cluster: list }, namespace)
    const r = JSON.parse((await run('stats', '--namespace', namespace, '--cluster', nodes!, '--json')).out)
    expect(r.masters).toHaveLength(3)
    const perMaster = r.masters.map((m: { keys: Record<string, number> }) =>
      Object.values(m.keys).reduce((a, b) => a + b, 0),
    )
    expect(perMaster.filter((n: number) => n > 0).length).toBeGreaterThanOrEqual(2)
    expect(r.namespaces[namespace].keys['value@2']).toBe(13)
    expect((await run('stats', '--namespace', namespace, '--cluster', nodes!)).out).toMatch(/per master:/)
    const token = JSON.parse(
      (await run('inspect', new Keyspace(namespace, '2').table('t3'), '--cluster', nodes!, '--json')).out,
    )
    expect(token.type).toBe('token')
    const purged = JSON.parse(
      (await run('purge', '--namespace', namespace, '--yes', '--cluster', nodes!, '--json')).out,
    )
    expect(purged.deleted).toBe(purged.keys)
    expect(purged.deleted).toBeGreaterThan(20)
  })
})
