import type { Store } from '@freshkey/core'
import { type RedisStoreOptions, redisStore } from '@freshkey/redis'

const notified = new Set<string>()

type Service = 'REDIS_URL' | 'DATABASE_URL' | 'REDIS_CLUSTER_NODES'

const HOW: Record<Service, string> = {
  REDIS_URL: 'apt-get install -y redis-server, or set REDIS_URL',
  DATABASE_URL: 'apt-get install -y postgresql, or set DATABASE_URL',
  REDIS_CLUSTER_NODES:
    'apt-get install -y redis-server (the global setup starts a Cluster), or set REDIS_CLUSTER_NODES=host:port,...',
}

/**
 * The URL of a service the suite needs, from the environment the global setup prepared.
 * Under `CI=true` a missing service fails the suite (never a silent skip); elsewhere the suite is
 * skipped with one line that says how to enable it.
 */
export function serviceUrl(name: Service): string | undefined {
  const url = process.env[name]
  if (url) return url
  if (process.env.CI === 'true') throw new Error(`${name} is not set and CI=true: the server must be running`)
  if (!notified.has(name)) {
    notified.add(name)
    console.warn(`[freshkey] ${name} unavailable: suites that need it are skipped (${HOW[name]})`)
  }
  return undefined
}

/** The run's Redis Cluster startup nodes (`host:port`), or undefined (skip; fails under CI=true). */
export function clusterNodes(): string[] | undefined {
  const nodes = serviceUrl('REDIS_CLUSTER_NODES')
  return nodes ? nodes.split(',').filter(Boolean) : undefined
}

/**
 * Hook for suites that run on Redis Cluster (store conformance now; adapter conformance and
 * concurrency tests next): a factory of stores on the run's 3-master 3-replica Cluster, each with
 * its own Cluster client, or undefined when there is no Cluster (fails under CI=true).
 */
export function clusterStoreFactory(options: RedisStoreOptions = {}): (() => Store) | undefined {
  const nodes = clusterNodes()
  if (!nodes) return undefined
  return () => redisStore({ cluster: nodes }, options)
}

/** The same for the run's standalone Redis. */
export function redisStoreFactory(options: RedisStoreOptions = {}): (() => Store) | undefined {
  const url = serviceUrl('REDIS_URL')
  if (!url) return undefined
  return () => redisStore(url, options)
}
