// Generates the Prisma client and freshkey's metadata offline, for SQLite (default) or, when
// DATABASE_URL is set, PostgreSQL. `prisma generate` never runs the schema engine: it only checks
// that PRISMA_SCHEMA_ENGINE_BINARY names a file, so any file will do here.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
const postgres = Boolean(process.env.DATABASE_URL)
let schema = `${here}prisma/schema.prisma`
mkdirSync(`${here}generated`, { recursive: true })
if (postgres) {
  // In generated/ (gitignored): the relative outputs resolve to the same folders from there.
  const copy = `${here}generated/schema.postgresql.prisma`
  writeFileSync(copy, readFileSync(schema, 'utf8').replace('provider = "sqlite"', 'provider = "postgresql"'))
  schema = copy
}
const cli = createRequire(import.meta.url).resolve('prisma/build/index.js')
execFileSync(process.execPath, [cli, 'generate', '--schema', schema], {
  cwd: here,
  stdio: ['ignore', 'ignore', 'inherit'],
  env: {
    ...process.env,
    // Where `provider = "freshkey-prisma"` is found when this runs outside `pnpm run`.
    PATH: `${here}node_modules/.bin:${process.env.PATH ?? ''}`,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
    CHECKPOINT_DISABLE: '1',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
  },
})
writeFileSync(`${here}generated/provider.txt`, postgres ? 'postgresql' : 'sqlite')
console.log(`generated the ${postgres ? 'PostgreSQL' : 'SQLite'} client into generated/`)
