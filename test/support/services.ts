const notified = new Set<string>()

/**
 * The URL of a service the suite needs, from the environment the global setup prepared.
 * Under `CI=true` a missing service fails the suite (never a silent skip); elsewhere the suite is
 * skipped with one line that says how to enable it.
 */
export function serviceUrl(name: 'REDIS_URL' | 'DATABASE_URL'): string | undefined {
  const url = process.env[name]
  if (url) return url
  if (process.env.CI === 'true') throw new Error(`${name} is not set and CI=true: the server must be running`)
  if (!notified.has(name)) {
    notified.add(name)
    const how =
      name === 'REDIS_URL'
        ? 'apt-get install -y redis-server, or set REDIS_URL'
        : 'apt-get install -y postgresql, or set DATABASE_URL'
    console.warn(`[freshkey] ${name} unavailable: suites that need it are skipped (${how})`)
  }
  return undefined
}
