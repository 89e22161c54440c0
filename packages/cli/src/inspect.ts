import { decodeScheme } from '@freshkey/core/adapter'
import { decodeEntry, entryStoredAt } from '@freshkey/redis'
import type { Connection } from './connection.ts'
import { classify, TOKEN_KINDS } from './keys.ts'

/** What `freshkey inspect` found under a key. */
export type Inspection =
  | { key: string; type: 'none' }
  | {
      key: string
      type: 'entry'
      generation: { stored: string; now: string; same: boolean }
      storedAt?: number
      ageMs?: number
      freshUntil: number
      freshForMs: number
      expiresInMs: number
      payloadBytes: number
      valid: boolean
      deps: { key: string; stored: string; now: string | null; same: boolean }[]
      fences: { key: string; now: string | null }[]
    }
  | { key: string; type: 'token'; kind: string; token: string; fenced: boolean; expiresInMs: number }
  | { key: string; type: 'lease'; owner: string; expiresInMs: number }
  | { key: string; type: 'schemes'; version?: string; schemes: { id: string; scheme: unknown }[] }
  | { key: string; type: 'scheme-version'; version: string }
  | { key: string; type: 'versions'; versions: { version: string; registeredAt: number }[] }
  | { key: string; type: 'raw'; redisType: string; bytes?: number; expiresInMs: number }

const ttl = (pttl: number) => (pttl < 0 ? -1 : pttl)

/** Looks at one key: an entry (its dependencies, tokens stored vs now, age, freshness, generation), a token, a lease, schemes. */
export async function inspect(conn: Connection, input: string): Promise<Inspection> {
  const key = input.startsWith(conn.prefix) ? input.slice(conn.prefix.length) : input
  const full = conn.prefix + key
  const c = conn.client
  const type = String(await c.type(full))
  if (type === 'none') return { key, type: 'none' }
  const kind = classify(key)
  const pttl = ttl(Number(await c.pttl(full)))
  if (type === 'hash') {
    const fields = (await c.hgetall(full)) as Record<string, string>
    const version = kind.kind === 'scheme-hash' ? ((await c.get(`${full}v`)) ?? undefined) : undefined
    return {
      key,
      type: 'schemes',
      ...(version !== undefined ? { version } : {}),
      schemes: Object.entries(fields).map(([id, meta]) => {
        let scheme: unknown = meta
        try {
          scheme = decodeScheme(meta)
        } catch {}
        return { id, scheme }
      }),
    }
  }
  if (type === 'zset') {
    const flat = (await c.zrange(full, 0, -1, 'WITHSCORES')) as string[]
    const versions: { version: string; registeredAt: number }[] = []
    for (let i = 0; i + 1 < flat.length; i += 2)
      versions.push({ version: flat[i]!, registeredAt: Number(flat[i + 1]) })
    return { key, type: 'versions', versions }
  }
  if (type !== 'string') return { key, type: 'raw', redisType: type, expiresInMs: pttl }
  const raw = String(await c.get(full))
  const entry = kind.kind === 'value' ? decodeEntry(raw) : undefined
  if (entry) {
    const now = Date.now()
    const tokens = await Promise.all(entry.keys.map((k) => c.get(conn.prefix + k) as Promise<string | null>))
    const fences = await Promise.all(
      entry.fences.map((k) => c.get(conn.prefix + k) as Promise<string | null>),
    )
    const generation = conn.store.generation()
    const deps = entry.keys.map((k, i) => ({
      key: k,
      stored: entry.tokens[i]!,
      now: tokens[i] ?? null,
      same: tokens[i] === entry.tokens[i],
    }))
    const storedAt = entryStoredAt(raw)
    return {
      key,
      type: 'entry',
      generation: {
        stored: entry.generation,
        now: generation,
        same: generation !== '' && generation === entry.generation,
      },
      ...(storedAt !== undefined ? { storedAt, ageMs: now - storedAt } : {}),
      freshUntil: entry.freshUntil,
      freshForMs: entry.freshUntil - now,
      expiresInMs: pttl,
      payloadBytes: Buffer.byteLength(entry.payload),
      valid: generation !== '' && generation === entry.generation && deps.every((d) => d.same),
      deps,
      fences: entry.fences.map((k, i) => ({ key: k, now: fences[i] ?? null })),
    }
  }
  if (TOKEN_KINDS.has(kind.kind))
    return { key, type: 'token', kind: kind.kind, token: raw, fenced: raw.startsWith('~'), expiresInMs: pttl }
  if (kind.kind === 'lease') return { key, type: 'lease', owner: raw, expiresInMs: pttl }
  if (kind.kind === 'scheme-version') return { key, type: 'scheme-version', version: raw }
  return { key, type: 'raw', redisType: 'string', bytes: Buffer.byteLength(raw), expiresInMs: pttl }
}

const ms = (n: number) =>
  Math.abs(n) >= 10_000 ? `${(n / 1000).toFixed(0)} s` : `${(n / 1000).toFixed(1)} s`
const life = (n: number) => (n < 0 ? 'no expiry' : `expires in ${ms(n)}`)

/** The human form of an inspection. */
export function describe(i: Inspection): string[] {
  switch (i.type) {
    case 'none':
      return [`${i.key}: no such key`]
    case 'entry': {
      const lines = [
        `entry ${i.key}`,
        `  valid        ${i.valid ? 'yes' : 'no'}${i.valid && i.freshForMs <= 0 ? ' (stale: served only within stale-while-revalidate)' : ''}`,
        `  generation   ${i.generation.stored} (server now: ${i.generation.now || 'unknown'}${i.generation.same ? ', same' : ', other: never served'})`,
        ...(i.storedAt !== undefined
          ? [`  stored       ${new Date(i.storedAt).toISOString()} (${ms(i.ageMs!)} ago)`]
          : []),
        `  fresh until  ${new Date(i.freshUntil).toISOString()} (${i.freshForMs > 0 ? `in ${ms(i.freshForMs)}` : `stale for ${ms(-i.freshForMs)}`})`,
        `  lifetime     ${life(i.expiresInMs)}`,
        `  payload      ${i.payloadBytes} bytes`,
        `  dependencies (${i.deps.length}): token stored → now`,
        ...i.deps.map((d) => `    ${d.same ? '=' : '≠'} ${d.key}  ${d.stored} → ${d.now ?? '(missing)'}`),
      ]
      if (i.fences.length > 0)
        lines.push(
          `  fences (${i.fences.length}): read first by the next load`,
          ...i.fences.map((f) => `    ${f.key}  ${f.now ?? '(missing)'}`),
        )
      return lines
    }
    case 'token':
      return [
        `${i.kind} token ${i.key}`,
        `  token   ${i.token}`,
        `  state   ${i.fenced ? 'fenced: a commit is in flight under it, nothing is stored under it until it is lifted or expires' : 'current'}`,
        `  ${life(i.expiresInMs)}`,
      ]
    case 'lease':
      return [`lease ${i.key}`, `  held by ${i.owner}`, `  ${life(i.expiresInMs)}`]
    case 'schemes':
      return [
        `schemes ${i.key}${i.version !== undefined ? ` (version ${i.version})` : ''}`,
        ...i.schemes.map((s) => `  ${s.id}  ${JSON.stringify(s.scheme)}`),
      ]
    case 'scheme-version':
      return [`scheme version ${i.key}: ${i.version}`]
    case 'versions':
      return [
        `versions ${i.key}`,
        ...i.versions.map((v) => `  ${v.version}  registered ${new Date(v.registeredAt).toISOString()}`),
      ]
    case 'raw':
      return [
        `${i.redisType} ${i.key}${i.bytes !== undefined ? ` (${i.bytes} bytes)` : ''}, ${life(i.expiresInMs)}`,
      ]
  }
}
