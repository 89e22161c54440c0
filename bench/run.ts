// Runs every bench/*/run.ts in turn (each needs REDIS_URL; none starts a server).
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
const only = process.argv.slice(2)
const benches = readdirSync(here, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(here, d.name, 'run.ts')))
  .map((d) => d.name)
  .filter((name) => only.length === 0 || only.includes(name))
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
  const { status } = spawnSync(process.execPath, [join(here, name, 'run.ts')], {
    stdio: 'inherit',
    cwd: here,
  })
  if (status !== 0) {
    failed++
    console.error(`bench/${name} exited with ${status}`)
  }
}
process.exit(failed ? 1 : 0)
