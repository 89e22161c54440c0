import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const src = (pkg: string, file = 'index') =>
  fileURLToPath(new URL(`./packages/${pkg}/src/${file}.ts`, import.meta.url))

export default defineConfig({
  resolve: {
    // Tests run against the sources; child-process tests and examples use the built packages.
    // Exact names: a subpath must not resolve through its package's alias.
    alias: [
      { find: /^@freshkey\/core\/adapter$/, replacement: src('core', 'adapter/index') },
      { find: /^@freshkey\/core\/etag$/, replacement: src('core', 'etag') },
      ...[
        'core',
        'redis',
        'typeorm',
        'mikro-orm',
        'prisma',
        'http',
        'otel',
        'nestjs',
        'test-suite',
        'cli',
      ].map((pkg) => ({
        find: new RegExp(`^@freshkey/${pkg}$`),
        replacement: src(pkg),
      })),
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
