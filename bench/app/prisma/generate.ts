// Generates bench/app's Prisma client and freshkey's metadata offline into bench/app/generated/
// (gitignored), unless they are current. `prisma generate` never runs the schema engine: it only
// checks that PRISMA_SCHEMA_ENGINE_BINARY names a file, so any file will do.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))
const out = join(here, '../generated')
const require = createRequire(import.meta.url)

export function generatePrismaClient(): void {
  const template = readFileSync(join(here, 'schema.prisma'), 'utf8')
  const fkPrisma = dirname(require.resolve('@freshkey/prisma/package.json'))
  const generator = join(fkPrisma, 'dist/generator-bin.js')
  if (!existsSync(generator)) throw new Error('@freshkey/prisma is not built: run `pnpm run build` first')
  const cli = require.resolve('prisma/build/index.js')
  const schema = template
    .replaceAll('__OUTPUT__', out)
    .replaceAll('__FRESHKEY_GENERATOR__', `node ${generator}`)
  const stamp = createHash('sha256')
    .update(schema)
    .update(readFileSync(generator))
    .update(readFileSync(require.resolve('prisma/package.json')))
    .digest('hex')
  const stampFile = join(out, '.stamp')
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) return
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  const schemaFile = join(out, 'schema.prisma')
  writeFileSync(schemaFile, schema)
  execFileSync(process.execPath, [cli, 'generate', '--schema', schemaFile], {
    cwd: out,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
      CHECKPOINT_DISABLE: '1',
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
    },
  })
  writeFileSync(stampFile, stamp)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  generatePrismaClient()
  console.log(`Prisma client ready in ${out}`)
}
