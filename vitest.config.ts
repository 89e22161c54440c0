import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url))

export default defineConfig({
  resolve: {
    // Tests run against the sources; child-process tests and examples use the built packages.
    alias: [
      { find: /^@freshkey\/core\/adapter$/, replacement: fileURLToPath(new URL('./packages/core/src/adapter/index.ts', import.meta.url)) },
      { find: /^@freshkey\/core$/, replacement: src('core') },
      { find: /^@freshkey\/redis$/, replacement: src('redis') },
      { find: /^@freshkey\/typeorm$/, replacement: src('typeorm') },
      { find: /^@freshkey\/mikro-orm$/, replacement: src('mikro-orm') },
      { find: /^@freshkey\/prisma$/, replacement: src('prisma') },
    ],
  },
  test: {
    // FK_TESTS narrows the run to some globs (CI shards, local work): FK_TESTS='test/core/**,test/*.test.ts'.
    include: process.env.FK_TESTS?.split(',') ?? ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    globalSetup: ['test/setup/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
})
