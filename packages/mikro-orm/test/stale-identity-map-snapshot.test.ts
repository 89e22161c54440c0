import { dep } from '@freshkey/core'
import { describe, expect, test } from 'vitest'
import { backends } from './support/backends.ts'
import { Article } from './support/entities.ts'
import { useHarness } from './support/harness.ts'

const list = (published: boolean, category: string) => dep.scope(Article, { published, category })

// The identity map snapshot is as old as the load: a row another process moved since then left a
// list the snapshot does not name. The before image is therefore read inside the write's transaction.
describe.each(backends)('stale identity map snapshot ($name)', (backend) => {
  const h = useHarness(backend)

  /** `stale` loaded article 1 while it was in `news`; another process then moved it to `tech`. */
  async function staleMove(): Promise<void> {
    const stale = h.ctx.orm.em.fork()
    const a = await stale.findOneOrFail(Article, 1)
    await h.ctx.orm.em.fork().nativeUpdate(Article, 1, { category: 'tech' })
    h.bumps.reset()
    a.category = 'sports'
    await stale.flush()
  }

  test('with the default (read) the list the row really left is invalidated', async () => {
    await staleMove()
    expect(h.bumps.bumped(list(false, 'tech'), list(false, 'sports'))).toBe(true)
    expect(h.bumps.bumped(list(true, 'tech'))).toBe(false)
  })
})
