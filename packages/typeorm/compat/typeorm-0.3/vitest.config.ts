import { fileURLToPath } from 'node:url'
import { defineConfig, type UserConfig } from 'vitest/config'
import base from '../../../../vitest.config.ts'

// The shared TypeORM tests, with every `typeorm` import (theirs and the adapter sources') resolved
// to this fixture's TypeORM 0.3; `injected.test.ts` checks the adapter as installed here.
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url))
const typeorm = here('./node_modules/typeorm')
const shared = [
  'writes',
  'transactions',
  'reads',
  'result-cache',
  'registration',
  'no-extra-sql',
  'no-locking',
  'conformance-driver',
]
const { resolve, test } = base as UserConfig

export default defineConfig({
  root: here('../../../../'),
  resolve: {
    alias: [
      { find: /^typeorm$/, replacement: typeorm },
      { find: /^typeorm\/(.*)$/, replacement: `${typeorm}/$1` },
      ...((resolve?.alias ?? []) as { find: RegExp; replacement: string }[]),
    ],
  },
  test: {
    ...test,
    include: [
      ...shared.map((name) => `packages/typeorm/test/${name}.test.ts`),
      'packages/typeorm/compat/typeorm-0.3/*.test.ts',
    ],
  },
})
