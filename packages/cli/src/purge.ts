import { ConfigError } from '@freshkey/core'
import { Keyspace } from '@freshkey/core/adapter'
import { type Connection, glob, scan } from './connection.ts'

/** What `freshkey purge` did (or, with dryRun, would do). */
export interface PurgeResult {
  readonly namespace: string
  readonly version?: string
  readonly prefix: string
  readonly keys: number
  readonly deleted: number
  readonly dryRun: boolean
}

/**
 * Deletes a namespace's values of one version (`version`), or every key of the namespace (tokens
 * too: a missing token is a fresh one, so this only costs misses). SCAN + UNLINK on every master.
 */
export async function purge(
  conn: Connection,
  options: { namespace: string; version?: string; dryRun?: boolean; yes?: boolean },
): Promise<PurgeResult> {
  const ks = new Keyspace(options.namespace, options.version ?? '0')
  const prefix = options.version !== undefined ? ks.versionPrefixOf(options.version) : `{${ks.ns}:`
  let keys = 0
  for await (const batch of scan(conn, `${glob(conn.prefix + prefix)}*`)) keys += batch.keys.length
  const base = {
    namespace: options.namespace,
    ...(options.version !== undefined ? { version: options.version } : {}),
    prefix,
  }
  if (options.dryRun) return { ...base, keys, deleted: 0, dryRun: true }
  if (options.version === undefined && !options.yes)
    throw new ConfigError(
      `purging all of namespace "${options.namespace}" deletes its tokens and values (${keys} keys): add --yes, or --version v for one version`,
    )
  const deleted = await conn.store.deletePrefix(prefix)
  if (options.version !== undefined) await conn.store.unregister(ks.versions, options.version)
  return { ...base, keys, deleted, dryRun: false }
}
