import { createRequire } from 'node:module'
import { Prisma } from '@prisma/client/extension'
import { describe, expect, it } from 'vitest'
import { openDatabase } from '../../test/support/clients.ts'
import { prismaMajor } from '../../test/support/generate-clients.ts'

// Proves this run is on Prisma 6, and what it lacks: nested `tx.$transaction` (savepoints).
describe('the Prisma 6 fixture', () => {
  it('generates and runs Prisma 6 clients, and the adapter resolves Prisma 6', async () => {
    expect(prismaMajor).toBe(6)
    const version = createRequire(import.meta.url)('@prisma/client/package.json').version as string
    expect(version).toMatch(/^6\./)
    expect(typeof Prisma.defineExtension).toBe('function')
    const db = await openDatabase('sqlite')
    try {
      expect((db.base as unknown as { _clientVersion: string })._clientVersion).toMatch(/^6\./)
      await db.base.$transaction(async (tx) => {
        expect((tx as { $transaction?: unknown }).$transaction).toBeUndefined()
      })
    } finally {
      await db.close()
    }
  })
})
