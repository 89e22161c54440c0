import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'

/**
 * Generates the Prisma clients the tests, the conformance driver and the bench use, offline:
 * `node packages/prisma/test/support/generate-clients.ts` (also run on import by test/support/clients.ts).
 * Output: packages/prisma/test/generated/{sqlite,postgresql} for the test schema and
 * generated/conformance-{sqlite,postgresql} for the conformance schema (gitignored). Skips when up to date.
 */
const pkg = fileURLToPath(new URL('../../', import.meta.url))
/** The Prisma major the clients are generated for (`FK_PRISMA_MAJOR`, set by the compat fixtures). */
export const prismaMajor = Number(process.env.FK_PRISMA_MAJOR ?? 7)
/** Where the clients go: a compat fixture generates its own, next to its own `@prisma/client`. */
export const generatedDir = process.env.FK_PRISMA_GENERATED ?? join(pkg, 'test/generated')
/** The module URL of a generated file (`sqlite/client.ts`, `conformance-postgresql/freshkey/index.js`). */
export const generated = (file: string) => pathToFileURL(join(generatedDir, file)).href
/** Schema templates: `test` (this package's suites and the bench) and `conformance` (the shared driver). */
const schemas = {
  test: join(pkg, 'test/fixtures/schema.prisma'),
  conformance: join(pkg, 'test/fixtures/conformance.prisma'),
  emulated: join(pkg, 'test/fixtures/emulated.prisma'),
}
const generatorBin = join(pkg, 'src/generator-bin.ts')
const prismaCli = process.env.FK_PRISMA_CLI ?? join(pkg, 'node_modules/prisma/build/index.js')

export const providers = ['sqlite', 'postgresql'] as const
export type Provider = (typeof providers)[number]

function stamp(): string {
  const h = createHash('sha256')
  for (const f of [
    ...Object.values(schemas),
    generatorBin,
    join(pkg, 'src/generator.ts'),
    join(pkg, 'src/metadata.ts'),
    join(prismaCli, '../../package.json'),
  ]) {
    h.update(readFileSync(f))
  }
  return h.digest('hex')
}

/** Generates both clients unless current; safe to call from parallel test workers. */
export async function generateTestClients(): Promise<void> {
  const want = stamp()
  const stampFile = join(generatedDir, '.stamp')
  const current = () => existsSync(stampFile) && readFileSync(stampFile, 'utf8') === want
  if (current()) return
  mkdirSync(generatedDir, { recursive: true })
  const lock = join(generatedDir, '.lock')
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch {
      if (current()) return
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 120_000)
        rmSync(lock, { recursive: true, force: true })
      await sleep(200)
    }
  }
  try {
    if (current()) return
    for (const provider of providers) {
      generate(schemas.test, provider, provider)
      generate(schemas.conformance, `conformance-${provider}`, provider)
      generate(schemas.emulated, `emulated-${provider}`, provider)
    }
    writeFileSync(stampFile, want)
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

function generate(template: string, name: string, provider: Provider): void {
  const out = join(generatedDir, name)
  rmSync(out, { recursive: true, force: true })
  mkdirSync(out, { recursive: true })
  const schema = readFileSync(template, 'utf8')
    .replaceAll('__PROVIDER__', provider)
    .replaceAll('__OUTPUT__', out)
    .replaceAll('__FRESHKEY_GENERATOR__', `node ${generatorBin}`)
  // Prisma 6 wants a datasource url (the driver adapter is what connects) and the Rust-free engine asked for.
  const forMajor =
    prismaMajor >= 7
      ? schema
      : schema
          .replace(
            'importFileExtension = "ts"',
            'importFileExtension = "ts"\n  engineType          = "client"',
          )
          .replace(
            /(datasource db \{[^}]*provider\s*=\s*"\w+")/,
            `$1\n  url = "${provider === 'sqlite' ? 'file:./unused.db' : 'postgresql://unused'}"`,
          )
  const schemaFile = join(generatedDir, `${name}.prisma`)
  writeFileSync(schemaFile, forMajor)
  try {
    execFileSync(process.execPath, [prismaCli, 'generate', '--schema', schemaFile], {
      cwd: dirname(schemaFile),
      stdio: 'pipe',
      env: {
        ...process.env,
        // `prisma generate` only checks that these engines exist; it never runs them.
        PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
        PRISMA_QUERY_ENGINE_LIBRARY: process.env.PRISMA_QUERY_ENGINE_LIBRARY ?? process.execPath,
        CHECKPOINT_DISABLE: '1',
        PRISMA_HIDE_UPDATE_MESSAGE: '1',
      },
    })
  } catch (error) {
    throw new Error(
      `prisma generate failed for ${provider}: ${String((error as { stderr?: unknown }).stderr ?? error)}`,
    )
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await generateTestClients()
  console.log(`prisma clients ready in ${generatedDir}`)
}
