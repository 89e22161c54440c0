import { expect, test } from 'vitest'
import { backends } from './support/backends.ts'

// Every suite here runs on each backend of `backends`: with a Redis server (always in CI), the
// Redis ones must be among them, or the adapter would be tested on the memory store only.
test.runIf(Boolean(process.env.REDIS_URL) || process.env.CI === 'true')(
  'Redis backends run in every suite',
  () => {
    expect(backends.some((b) => b.store === 'redis')).toBe(true)
  },
)
