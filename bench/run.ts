// Runs every bench/*/run.ts in turn (each needs REDIS_URL; none starts a server). Arguments that
// from the first `--` on go to the benches (`pnpm run bench app --quick`). The application benchmark
// (bench/app, ~12 minutes, also needs DATABASE_URL) runs only when named.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
const argv = process.argv.slice(2)
const firstFlag = argv.findIndex((a) => a.startsWith('--'))
const only = firstFlag < 0 ? argv : argv.slice(0, firstFlag)
const flags = firstFlag < 0 ? [] : argv.slice(firstFlag)
const namedOnly = new Set(['app'])
const benches = readdirSync(here, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(here, d.name, 'run.ts')))
  .map((d) => d.name)
  .filter((name) => (only.length === 0 ? !namedOnly.has(name) : only.includes(name)))
  .sort()

if (!process.env.REDIS_URL) {
  console.error(
    'REDIS_URL is not set: start a redis-server (e.g. redis-server --port 6415 --save "") and set REDIS_URL',
  )
  process.exit(1)
}
let failed = 0
for (const name of benches) {
  console.log(`\n## bench/${name}\n`)
  const { status } = spawnSync(process.execPath, [join(here, name, 'run.ts'), ...flags], {
    stdio: 'inherit',
    cwd: here,
  })
  if (status !== 0) {
    failed++
    console.error(`bench/${name} exited with ${status}`)
  }
}
process.exit(failed ? 1 : 0)
