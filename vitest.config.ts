import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url))

export default defineConfig({
  resolve: {
    // Tests run against the sources; child-process tests and examples use the built packages.
    alias: {
      '@freshkey/core/adapter': fileURLToPath(
        new URL('./packages/core/src/adapter/index.ts', import.meta.url),
      ),
      '@freshkey/core': src('core'),
      '@freshkey/redis': src('redis'),
      '@freshkey/typeorm': src('typeorm'),
      '@freshkey/mikro-orm': src('mikro-orm'),
      '@freshkey/prisma': src('prisma'),
      '@freshkey/test-suite': src('test-suite'),
      '@freshkey/cli': src('cli'),
    },
  },
  test: {
    include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    globalSetup: ['test/setup/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
})
