import { randomUUID } from 'node:crypto'
import { existsSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dep } from '@freshkey/core'
import { createClient } from '@libsql/client'
import { PrismaPg } from '@prisma/adapter-pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freshkeyPrisma } from '../../src/index.ts'
import { emulatedDdl } from '../fixtures/ddl.ts'
import { libsqlAdapter } from '../support/clients.ts'
import { generated, generateTestClients } from '../support/generate-clients.ts'
import { matrix, newFreshkey, watch } from '../support/harness.ts'
import { pgConnect } from '../support/pg-client.ts'

await generateTestClients()

/**
 * `relationMode = "prisma"`: no foreign keys in the database, Prisma runs the referential actions
 * itself. They are in the generator's metadata, so the schema graph follows them like real ones.
 */
describe.each(matrix())('emulated relations on $db with $store store', (combo) => {
  let prisma: any
  let closeAll: () => Promise<void>
  let fk: ReturnType<typeof newFreshkey>['fk']
  beforeAll(async () => {
    const provider = combo.db === 'sqlite' ? 'sqlite' : 'postgresql'
    const { PrismaClient } = await import(generated(`emulated-${provider}/client.ts`))
    const { metadata } = await import(generated(`emulated-${provider}/freshkey/index.js`))
    const fresh = newFreshkey(combo.store, combo.redisUrl)
    fk = fresh.fk
    let adapter: unknown
    let drop: () => Promise<void>
    if (combo.db === 'sqlite') {
      const file = join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), `fk-emulated-${randomUUID()}.db`)
      const setup = createClient({ url: `file:${file}` })
      await setup.executeMultiple(emulatedDdl.map((s) => `${s};`).join('\n'))
      setup.close()
      adapter = libsqlAdapter(`file:${file}`)
      drop = async () => rmSync(file, { force: true })
    } else {
      const name = `fk_emulated_${randomUUID().replaceAll('-', '').slice(0, 12)}`
      const admin = await pgConnect(combo.databaseUrl!)
      await admin.query(`CREATE DATABASE ${name}`)
      const url = new URL(combo.databaseUrl!)
      url.pathname = `/${name}`
      const setup = await pgConnect(url.href)
      for (const s of emulatedDdl) await setup.query(s)
      await setup.end()
      adapter = new PrismaPg({ connectionString: url.href })
      drop = async () => {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
        await admin.end()
      }
    }
    const base = new PrismaClient({ adapter })
    prisma = base.$extends(freshkeyPrisma(fk, { metadata }))
    closeAll = async () => {
      await base.$disconnect()
      await drop()
      await fresh.close()
    }
  })
  afterAll(() => closeAll?.())

  it('a delete that Prisma cascades to books and their pages bumps both tables', async () => {
    await prisma.shelf.create({ data: { id: 1, name: 's', books: { create: [{ id: 10, title: 'b' }] } } })
    await prisma.page.create({ data: { id: 100, bookId: 10 } })
    const w = await watch(fk, {
      books: dep.table('books'),
      pages: dep.table('pages'),
      b10: dep.row('books', 10),
    })
    await prisma.shelf.delete({ where: { id: 1 } })
    expect(await prisma.page.count()).toBe(0)
    expect(await w.changed()).toEqual(['b10', 'books', 'pages'])
  })

  it('a key update that Prisma cascades bumps the referencing table', async () => {
    await prisma.shelf.create({ data: { id: 2, name: 's', books: { create: [{ id: 20, title: 'b' }] } } })
    const books = () => fk.wrap('books:2', () => prisma.book.findMany({ where: { shelfId: 2 } }))
    expect(await books()).toHaveLength(1)
    await prisma.shelf.update({ where: { id: 2 }, data: { id: 3 } })
    await fk.idle()
    expect(await books()).toEqual([])
  })
})
