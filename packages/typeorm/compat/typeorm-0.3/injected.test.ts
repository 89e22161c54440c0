import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { createFreshkey, dep, memoryStore } from '@freshkey/core'
import { DataSource, EntitySchema } from 'typeorm'
import { expect, test } from 'vitest'

// @freshkey/typeorm as installed into this fixture (`injected: true`: a copy, not a link) resolves
// the fixture's TypeORM 0.3 as its peer, the way an application's install does.
const require = createRequire(import.meta.url)
const installed = dirname(require.resolve('@freshkey/typeorm/package.json'))

const versionAt = (entry: string) =>
  (JSON.parse(readFileSync(join(dirname(entry), 'package.json'), 'utf8')) as { version: string }).version

test('this run uses TypeORM 0.3: the shared tests and the adapter sources import it', async () => {
  const pkg = await import('typeorm/package.json', { with: { type: 'json' } })
  expect(pkg.default.version).toBe('0.3.20')
})

test('the installed adapter resolves TypeORM 0.3 as its peer and binds to it', async () => {
  const peer = createRequire(join(installed, 'package.json'))
  expect(versionAt(peer.resolve('typeorm'))).toBe('0.3.20')
  expect(peer.resolve('typeorm')).toBe(require.resolve('typeorm'))
  const { freshkeyTypeORM } = (await import(
    join(installed, 'src/index.ts')
  )) as typeof import('@freshkey/typeorm')
  const Note = new EntitySchema<{ id: number; title: string }>({
    name: 'Note',
    tableName: 'notes',
    columns: { id: { type: 'integer', primary: true }, title: { type: 'varchar' } },
  })
  const ds = new DataSource({ type: 'sqljs', entities: [Note], synchronize: true })
  await ds.initialize()
  const fk = createFreshkey({ store: memoryStore(), namespace: 'compat-0.3' })
  const binding = freshkeyTypeORM(ds, fk)
  await binding.verify()
  const notes = ds.getRepository(Note)
  await notes.insert({ id: 1, title: 'a' })
  let loads = 0
  const title = () =>
    fk.wrap('note:1', () => {
      loads++
      return notes.findOneByOrFail({ id: 1 }).then((n) => n.title)
    })
  await fk.idle()
  expect(await title()).toBe('a')
  expect(await title()).toBe('a')
  await notes.update(1, { title: 'b' })
  await fk.idle()
  expect(await title()).toBe('b')
  expect(loads).toBe(2)
  expect(await fk.keyFor(await notes.findOneByOrFail({ id: 1 }))).toBe(await fk.keyFor(dep.row('notes', 1)))
  binding.dispose()
  await ds.destroy()
})
