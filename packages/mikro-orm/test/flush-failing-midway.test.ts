import { dep } from '@freshkey/core'
import { describe, expect, test } from 'vitest'
import { backends } from './support/backends.ts'
import { Article, User } from './support/entities.ts'
import { useHarness } from './support/harness.ts'

// SQLite keeps a transaction usable after a failed statement (PostgreSQL aborts it), so a flush can
// write some rows, throw, and the caller can still commit: those rows must be bumped.
describe.each(backends.filter((b) => b.db === 'sqlite'))(
  'a flush failing midway in a transaction that commits ($name)',
  (backend) => {
    const h = useHarness(backend)

    test('the rows it wrote before failing are bumped at the commit', async () => {
      await h.ctx.orm.em.fork().transactional(async (t) => {
        t.create(User, { id: 3, name: 'written' })
        // Inserted after the user (commit order), fails: the author does not exist.
        t.create(Article, { id: 9, title: 'orphan', published: false, category: 'x', author: 99 })
        await expect(t.flush()).rejects.toThrow()
        t.clear()
      })
      expect((await h.ctx.orm.em.fork().findOne(User, 3))?.name).toBe('written')
      expect(h.bumps.bumped(dep.row('app_users', 3))).toBe(true)
    })
  },
)
