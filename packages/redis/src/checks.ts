import type { StoreCheck } from '@freshkey/core/adapter'
import type { Conn } from './client.ts'
import { nonce } from './nonce.ts'

/** What `verify()` needs from the store. */
export interface VerifyContext {
  readonly client: Conn
  masters(): Conn[]
  readonly prefix: string
  /** Name of the defined probe script command. */
  readonly probe: string
  readonly replicas: number
  generation(): string
  learn(node: Conn): Promise<void>
  run<T>(operation: string, fn: () => Promise<T>): Promise<T>
}

const message = (error: unknown) => String((error as Error)?.message ?? error)
const field = (info: string, name: string) => new RegExp(`(?:^|\\n)${name}:([^\\r\\n]*)`).exec(info)?.[1]

/**
 * The store's startup checks, each tried for real on a probe key and channel under the store's
 * prefix (so an ACL that grants `~fk:*` but not `&fk:*` shows up here, not at the first bump).
 */
export async function verifyStore(ctx: VerifyContext): Promise<StoreCheck[]> {
  const checks: StoreCheck[] = []
  const fail = (name: string, severity: 'error' | 'warning', text: string) =>
    checks.push({ name, ok: false, severity, message: text })
  const pass = (name: string, text?: string) =>
    checks.push(text ? { name, ok: true, message: text } : { name, ok: true })
  const cluster = ctx.client.isCluster === true
  const masters = ctx.masters()
  if (masters.length === 0) {
    fail('reachable', 'error', 'no Redis master is known (the Cluster client has no slots yet)')
    return checks
  }
  for (const node of masters) {
    try {
      await ctx.run('ping', () => node.ping())
    } catch (error) {
      fail('reachable', 'error', `${where(node)}: ${message(error)}`)
      return checks
    }
  }
  pass('reachable', cluster ? `${masters.length} masters` : undefined)

  // INFO tells the run id every token read is trusted under (generations), the role and memory policy.
  const infos: { node: Conn; info: string }[] = []
  for (const node of masters) {
    try {
      infos.push({ node, info: String(await ctx.run('info', () => node.info())) })
    } catch (error) {
      fail(
        'acl:commands',
        'error',
        `${where(node)}: INFO failed (${message(error)}). freshkey learns each server's run_id with INFO to tell a restarted or replaced server; without it no value is ever trusted. Grant +info.`,
      )
      return checks
    }
  }
  for (const { node, info } of infos) {
    if (field(info, 'role') !== 'master')
      fail(
        'role',
        'error',
        `${where(node)} is a ${field(info, 'role') ?? 'non-master'}: token reads must go to the master`,
      )
  }
  await Promise.all(masters.map((n) => ctx.learn(n)))
  if (ctx.generation() === '')
    fail(
      'generation',
      'error',
      'the server generation (run_id) is not known yet: nothing is cached until it is',
    )
  else pass('generation', ctx.generation())

  const probe = `${ctx.prefix}{fk-verify}:${nonce()}`
  try {
    await ctx.run('probe', () => ctx.client.set(probe, '1', 'PX', 10_000))
    await ctx.run('probe', () => ctx.client.get(probe))
    await ctx.run('probe', () => ctx.client.unlink(probe))
    pass('acl:keys')
  } catch (error) {
    fail(
      'acl:keys',
      'error',
      `cannot write keys under "${ctx.prefix}" (${message(error)}): grant ~${ctx.prefix}* (see the @freshkey/redis README for the minimal ACL)`,
    )
  }
  try {
    const v = await ctx.run('probe', () => ctx.client[ctx.probe](1, probe, 'ok'))
    if (v !== 'ok') throw new Error(`unexpected reply ${String(v)}`)
    pass('acl:scripts')
  } catch (error) {
    fail('acl:scripts', 'error', `cannot run scripts (${message(error)}): grant +eval +evalsha`)
  }
  try {
    const channel = `${ctx.prefix}{fk-verify}:probe`
    await ctx.run('probe', () =>
      cluster ? ctx.client.call('SPUBLISH', channel, 'probe') : ctx.client.publish(channel, 'probe'),
    )
    pass('acl:channels')
  } catch (error) {
    fail(
      'acl:channels',
      'warning',
      `cannot publish on channels under "${ctx.prefix}" (${message(error)}): bumps still work and values stay fresh, ` +
        `but near caches serve nothing and collections only poll. Grant &${ctx.prefix}* (Redis 7 ACLs default to resetchannels).`,
    )
  }
  try {
    for (const node of masters)
      await ctx.run('probe', () => node.scan('0', 'MATCH', `${probe}*`, 'COUNT', 10))
    pass('acl:scan')
  } catch (error) {
    fail(
      'acl:scan',
      'warning',
      `SCAN failed (${message(error)}): invalidateAll() and purge() will fail. Grant +scan.`,
    )
  }

  for (const { node, info } of infos) {
    let memory = ''
    try {
      memory = String(await ctx.run('info', () => node.info('memory')))
    } catch {}
    const policy = field(memory, 'maxmemory_policy') ?? '?'
    const limit = Number(field(memory, 'maxmemory') ?? '0')
    if (limit > 0 && /^(volatile|allkeys)-/.test(policy))
      fail(
        'maxmemory-policy',
        'warning',
        `${where(node)}: maxmemory-policy ${policy} can evict freshkey's keys. An evicted value or token only costs misses, ` +
          'but an evicted fence (a commit in flight) lets a value loaded during that commit outlive it: a rare stale read. ' +
          'Prefer noeviction (at the limit bumps fail, their token keys are deleted instead and reads fall back to the loader) or a Redis of its own.',
      )
    else
      pass(
        'maxmemory-policy',
        limit > 0
          ? `${policy}: at the limit bumps fail and their token keys are deleted instead`
          : 'no maxmemory limit',
      )
    if (ctx.replicas > 0) {
      const connected = Number(field(info, 'connected_slaves') ?? '0')
      if (connected < ctx.replicas)
        fail(
          'replicas',
          'error',
          `${where(node)} has ${connected} replicas connected; every bump waits for ${ctx.replicas} and fails without them`,
        )
      else pass('replicas', `${connected} connected, bumps wait for ${ctx.replicas}`)
    }
  }
  if (cluster) {
    const version = field(infos[0]!.info, 'redis_version') ?? '0'
    if (Number(version.split('.')[0]) < 7)
      fail(
        'pubsub',
        'warning',
        `Redis ${version}: sharded pub/sub needs Redis 7; bump messages will not arrive`,
      )
  }
  return checks
}

function where(node: Conn): string {
  const o = node.options
  return o.path ? String(o.path) : `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}`
}
