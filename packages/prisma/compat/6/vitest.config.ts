// @freshkey/prisma's key tests and the conformance driver on Prisma 6: the adapter's sources and
// tests, with every `@prisma/*` import taken from this fixture (Prisma 6.19, engineType "client").
// Run from the repository root: pnpm exec vitest run --config packages/prisma/compat/6/vitest.config.ts
import { fileURLToPath } from 'node:url'
import { defineConfig, mergeConfig } from 'vitest/config'
import base from '../../../../vitest.config.ts'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))
const prisma = (pkg: string) => ({
  find: new RegExp(`^@prisma/${pkg}(/.*)?$`),
  replacement: `${here(`./node_modules/@prisma/${pkg}`)}$1`,
})

const config = mergeConfig(
  base,
  defineConfig({
    root: here('../../../../'),
    resolve: { alias: [prisma('client'), prisma('adapter-pg'), prisma('adapter-libsql')] },
    test: {
      env: {
        FK_PRISMA_MAJOR: '6',
        FK_CONFORMANCE_DRIVERS: 'prisma',
        FK_PRISMA_CLI: here('./node_modules/prisma/build/index.js'),
        FK_PRISMA_GENERATED: here('./generated'),
      },
    },
  }),
)
// Replaced, not appended to the base list.
config.test!.include = [
  'packages/prisma/compat/6/*.test.ts',
  'packages/prisma/test/{writes,transactions,reads,cached,keyfor,registration,read-records,generator}.test.ts',
  'packages/prisma/test/regressions/*.test.ts',
  'test/conformance/conformance.test.ts',
]
export default config
