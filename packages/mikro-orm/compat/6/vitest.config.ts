import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'
import root from '../../../../vitest.config.ts'

// The adapter's own tests and its conformance driver against MikroORM 6: every `@mikro-orm/*`
// import (the adapter's sources included) resolves to this fixture's copy of the old major.
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))
const orm = (pkg: string) => ({
  find: new RegExp(`^@mikro-orm/${pkg}$`),
  replacement: here(`node_modules/@mikro-orm/${pkg}`),
})
const base = root as { resolve: { alias: object[] }; test: Record<string, unknown> }
const shared = {
  root: here('../../../..'),
  resolve: { alias: [orm('core'), orm('knex'), orm('libsql'), orm('postgresql'), ...base.resolve.alias] },
}
const { include: _, ...test } = base.test

export default defineConfig({
  ...shared,
  test: {
    ...test,
    globalSetup: [here('../../../../test/setup/global-setup.ts')],
    projects: [
      {
        ...shared,
        test: {
          ...test,
          name: 'mikro-orm@6',
          env: { MIKRO_ORM_MAJOR: '6' },
          include: ['packages/mikro-orm/test/**/*.test.ts'],
          // Decorators live in @mikro-orm/decorators from 7 on.
          exclude: ['packages/mikro-orm/test/decorators.test.ts'],
        },
      },
      {
        ...shared,
        test: {
          ...test,
          name: 'conformance@6',
          include: ['test/conformance/conformance.test.ts'],
          env: { MIKRO_ORM_MAJOR: '6', FK_CONFORMANCE_DRIVERS: 'mikro-orm' },
        },
      },
    ],
  },
})
