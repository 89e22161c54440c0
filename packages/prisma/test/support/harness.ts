import { randomUUID } from 'node:crypto'
import { createFreshkey, type Dependency, type Freshkey, memoryStore } from '@freshkey/core'
import { redisStore } from '@freshkey/redis'
import { serviceUrl } from '../../../../test/support/index.ts'
import type { DbKind } from './clients.ts'

export type StoreKind = 'memory' | 'redis'

/**
 * The database × store combinations a suite runs on; PostgreSQL and Redis only when their servers are
 * there (required under CI). `FK_STORES=memory` leaves Redis out on purpose, and says so.
 */
export function matrix(): { db: DbKind; store: StoreKind; databaseUrl?: string; redisUrl?: string }[] {
  const databaseUrl = serviceUrl('DATABASE_URL')
  const memoryOnly = process.env.FK_STORES === 'memory'
  if (memoryOnly && process.env.CI === 'true')
    throw new Error('FK_STORES=memory is not allowed under CI=true')
  if (memoryOnly)
    warnOnce('[freshkey] FK_STORES=memory: the Redis-backed cases of @freshkey/prisma are left out')
  const redisUrl = memoryOnly ? undefined : serviceUrl('REDIS_URL')
  const out: { db: DbKind; store: StoreKind; databaseUrl?: string; redisUrl?: string }[] = [
    { db: 'sqlite', store: 'memory' },
  ]
  if (redisUrl) out.push({ db: 'sqlite', store: 'redis', redisUrl })
  if (databaseUrl) out.push({ db: 'postgres', store: 'memory', databaseUrl })
  if (databaseUrl && redisUrl) out.push({ db: 'postgres', store: 'redis', databaseUrl, redisUrl })
  return out
}

let warned = false
function warnOnce(message: string): void {
  if (!warned) console.warn(message)
  warned = true
}

/** A freshkey instance on a fresh namespace of the chosen store. */
export function newFreshkey(store: StoreKind, redisUrl?: string): { fk: Freshkey; close(): Promise<void> } {
  const s = store === 'memory' ? memoryStore() : redisStore(redisUrl)
  const fk = createFreshkey({ store: s, namespace: `prisma-test-${randomUUID()}` })
  return {
    fk,
    async close() {
      await fk.close()
      await (s as { close?: () => Promise<void> | void }).close?.()
    },
  }
}

/**
 * Watches dependencies through `fk.keyFor`: a key changes exactly when a token it reads was bumped.
 * `changed()` returns the names whose key moved since the previous call, sorted. It waits for
 * background work first: a commit's fence is lifted after the commit, which changes the token again.
 */
export async function watch(fk: Freshkey, deps: Record<string, Dependency | string>) {
  const keys = async () => {
    await fk.idle()
    return Object.fromEntries(
      await Promise.all(Object.entries(deps).map(async ([n, d]) => [n, await fk.keyFor(d)] as const)),
    )
  }
  let last = await keys()
  return {
    async changed(): Promise<string[]> {
      const now = await keys()
      const moved = Object.keys(deps).filter((n) => now[n] !== last[n])
      last = now
      return moved.sort()
    },
  }
}
