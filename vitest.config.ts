import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (pkg: string, file = 'index') =>
  fileURLToPath(new URL(`./packages/${pkg}/src/${file}.ts`, import.meta.url))

export default defineConfig({
  resolve: {
    // Tests run against the sources; child-process tests and examples use the built packages.
    alias: {
      // Subpaths before their package: the first alias whose name prefixes the import wins.
      '@freshkey/core/etag': src('core', 'etag'),
      '@freshkey/core': src('core'),
      '@freshkey/redis': src('redis'),
      '@freshkey/typeorm': src('typeorm'),
      '@freshkey/mikro-orm': src('mikro-orm'),
      '@freshkey/prisma': src('prisma'),
      '@freshkey/http': src('http'),
      '@freshkey/otel': src('otel'),
      '@freshkey/nestjs': src('nestjs'),
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
