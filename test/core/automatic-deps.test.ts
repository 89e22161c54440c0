import { createFreshkey, dep, type Freshkey, type Store } from '@freshkey/core'
import { Binding, type ReadRecord } from '@freshkey/core/adapter'
import { afterEach, describe, expect, it } from 'vitest'
import { counting, freshNamespace, storeCases } from './helpers.ts'

// Automatic dependencies through the adapter kit, with a toy ORM: a table in memory whose reads
// report what they read, the way an adapter does (beforeQuery, then read).

type Post = {
  id: number
  title: string
  category: string
  published: boolean
}

function toyOrm(fk: Freshkey) {
  const binding = new Binding(fk, {}, 'toy')
  const rows = new Map<number, Post>()
  const report = async <T>(
    tables: string[],
    run: () => T,
    record: (result: T) => ReadRecord[],
  ): Promise<T> => {
    const frame = binding.frame()
    const pre = frame?.beforeQuery(tables)
    if (pre) await pre
    const result = run()
    for (const r of record(result)) frame?.read(r)
    return result
  }
  const write = async (post: Post, kind: 'insert' | 'update', changed?: string[]) => {
    rows.set(post.id, { ...post })
    await binding.record(undefined, [
      { table: 'posts', kind, pk: post.id, after: { ...post }, ...(changed ? { changed } : {}) },
    ])
  }
  return {
    binding,
    rows,
    insert: (post: Post) => write(post, 'insert'),
    update: (id: number, patch: Partial<Post>) =>
      write({ ...rows.get(id)!, ...patch }, 'update', Object.keys(patch)),
    /** An update by id whose change carries only the values written (`update(id, patch)` on most ORMs). */
    patch: async (id: number, patch: Partial<Post>) => {
      rows.set(id, { ...rows.get(id)!, ...patch })
      await binding.record(undefined, [
        { table: 'posts', kind: 'update', pk: id, after: { ...patch }, changed: Object.keys(patch) },
      ])
    },
    remove: async (id: number) => {
      rows.delete(id)
      await binding.record(undefined, [{ table: 'posts', kind: 'delete', pk: id }])
    },
    list: (category: string) =>
      report(
        ['posts'],
        () =>
          [...rows.values()]
            .filter((p) => p.published && p.category === category)
            .sort((a, b) => a.id - b.id),
        (result) => [
          {
            table: 'posts',
            rows: result.map((p) => p.id),
            where: [{ category, published: true }],
            watch: ['id'],
          },
        ],
      ),
    count: (category: string) =>
      report(
        ['posts'],
        () => [...rows.values()].filter((p) => p.published && p.category === category).length,
        () => [{ table: 'posts', where: [{ category, published: true }], watch: [], enumerates: false }],
      ),
    byId: (id: number) =>
      report(
        ['posts'],
        () => rows.get(id),
        () => [{ table: 'posts', rows: [id] }],
      ),
    search: (text: string) =>
      report(
        ['posts'],
        () => [...rows.values()].filter((p) => p.title.includes(text)),
        () => [{ table: 'posts', whole: true }],
      ),
    /** A read that skips beforeQuery: an adapter that forgot to fence. */
    unfenced: (category: string) => {
      const result = [...rows.values()].filter((p) => p.category === category)
      binding.frame()?.read({ table: 'posts', rows: result.map((p) => p.id), where: [{ category }] })
      return result
    },
  }
}

const post = (id: number, category = 'news', published = true): Post => ({
  id,
  title: `t${id}`,
  category,
  published,
})

for (const c of storeCases()) {
  describe(`automatic dependencies (${c.name})`, () => {
    const opened: (Freshkey | Store)[] = []
    const setup = () => {
      const inner = c.make()
      const probe = counting(inner)
      const fk = createFreshkey({ store: probe.store, namespace: freshNamespace('auto'), logger: false })
      opened.push(fk, inner)
      return { fk, probe, orm: toyOrm(fk) }
    }
    afterEach(async () => {
      for (const o of opened.splice(0)) await o.close()
    })
    const counter = <T>(read: () => Promise<T> | T) => {
      const calls = { n: 0 }
      return Object.assign(
        async () => {
          calls.n++
          return read()
        },
        { calls },
      )
    }

    it('a list depends on its rows and its filter: a member edit or a new member misses, other writes hit', async () => {
      const { fk, orm } = setup()
      await orm.insert(post(1))
      await orm.insert(post(2, 'sport'))
      const load = counter(() => orm.list('news'))
      const list = () => fk.wrap('news', load)
      expect((await list()).map((p) => p.id)).toEqual([1])
      expect((await list()).map((p) => p.id)).toEqual([1])
      expect(load.calls.n).toBe(1)
      await orm.update(2, { title: 'other category' })
      await orm.insert(post(3, 'sport'))
      await orm.insert(post(4, 'news', false))
      expect(await list()).toHaveLength(1)
      expect(load.calls.n).toBe(1)
      await orm.update(1, { title: 'edited' })
      expect((await list())[0]!.title).toBe('edited')
      expect(load.calls.n).toBe(2)
      await orm.insert(post(5))
      expect((await list()).map((p) => p.id)).toEqual([1, 5])
      await orm.update(4, { published: true })
      expect((await list()).map((p) => p.id)).toEqual([1, 4, 5])
      await orm.update(5, { category: 'sport' })
      expect((await list()).map((p) => p.id)).toEqual([1, 4])
      await orm.remove(1)
      expect((await list()).map((p) => p.id)).toEqual([4])
      expect(load.calls.n).toBe(6)
    })

    it('a count depends on its filter only: entering and leaving miss, a retitle hits', async () => {
      const { fk, orm } = setup()
      await orm.insert(post(1))
      const load = counter(() => orm.count('news'))
      const count = () => fk.wrap('count:news', load)
      expect(await count()).toBe(1)
      await orm.update(1, { title: 'retitled' })
      expect(await count()).toBe(1)
      expect(load.calls.n).toBe(1)
      await orm.insert(post(2))
      expect(await count()).toBe(2)
      await orm.update(2, { category: 'sport' })
      expect(await count()).toBe(1)
      await orm.remove(1)
      expect(await count()).toBe(0)
      expect(load.calls.n).toBe(4)
    })

    it('a lookup by key depends on that row, found or not', async () => {
      const { fk, orm } = setup()
      const load = counter(() => orm.byId(7))
      expect(await fk.wrap('post:7', load, { cacheUndefined: true })).toBeUndefined()
      expect(await fk.wrap('post:7', load, { cacheUndefined: true })).toBeUndefined()
      await orm.insert(post(8))
      expect(await fk.wrap('post:7', load, { cacheUndefined: true })).toBeUndefined()
      expect(load.calls.n).toBe(1)
      await orm.insert(post(7))
      expect((await fk.wrap('post:7', load, { cacheUndefined: true }))?.id).toBe(7)
    })

    it('a filter the adapter does not understand depends on the whole table', async () => {
      const { fk, orm } = setup()
      await orm.insert(post(1))
      const load = counter(() => orm.search('t'))
      await fk.wrap('search', load)
      await fk.wrap('search', load)
      await orm.insert(post(2, 'anything'))
      await fk.wrap('search', load)
      expect(load.calls.n).toBe(2)
    })

    it('declared deps are added to the automatic ones', async () => {
      const { fk, orm } = setup()
      await orm.insert(post(1))
      const load = counter(() => orm.list('news'))
      const list = () => fk.wrap('news+home', load, { deps: [dep.tag('home')] })
      await list()
      await fk.invalidate(dep.tag('home'))
      await list()
      await orm.update(1, { title: 'x' })
      await list()
      expect(load.calls.n).toBe(3)
    })

    it('a write that commits during the load makes the fill fail: the next read loads again', async () => {
      const { fk, orm } = setup()
      await orm.insert(post(1))
      const load = counter(async () => {
        const result = await orm.list('news')
        // Another process changes a member after the query read it, before the fill.
        await fk.changed({ table: 'posts', kind: 'update', pk: 1, changed: ['title'] })
        return result
      })
      await fk.wrap('news', load)
      expect(fk.stats().fillsRefused).toBe(1)
      await fk.wrap('news', () => orm.list('news'))
      expect(load.calls.n).toBe(1)
      expect(fk.stats().fills).toBe(1)
    })

    it('a write to an unrelated row of the table during the load does not refuse the fill (fills are fenced per dependency)', async () => {
      const { fk, orm } = setup()
      await orm.insert(post(1))
      await orm.insert(post(2, 'sport'))
      await fk.wrap('news', () => orm.list('news')) // registers the filter's scheme
      await orm.update(1, { title: 'x' })
      const load = counter(async () => {
        const result = await orm.list('news')
        // Meanwhile another process edits a row of another category, and adds one there.
        await fk.changed({ table: 'posts', kind: 'update', pk: 2, after: { title: 'y' }, changed: ['title'] })
        await fk.changed({ table: 'posts', kind: 'insert', pk: 3, after: post(3, 'sport') })
        return result
      })
      await fk.wrap('news', load)
      await fk.wrap('news', load)
      expect(load.calls.n).toBe(1)
    })

    it('a row entering the filter during the load refuses the fill, also before any writer knew the filter', async () => {
      const { fk, orm } = setup()
      await orm.insert(post(1))
      let insertDuringLoad = true
      const load = counter(async () => {
        const result = await orm.list('news')
        if (insertDuringLoad) {
          insertDuringLoad = false
          // The first load of this filter: no writer has planned with its scheme yet.
          await orm.insert(post(4))
        }
        return result
      })
      expect((await fk.wrap('news', load)).map((p) => p.id)).toEqual([1])
      expect((await fk.wrap('news', load)).map((p) => p.id)).toEqual([1, 4])
      expect(load.calls.n).toBe(2)
    })

    it('a read the adapter did not fence before it ran is served but never stored', async () => {
      const { fk, orm } = setup()
      await orm.insert(post(1))
      const load = counter(() => orm.unfenced('news'))
      await fk.wrap('unfenced', load)
      await fk.wrap('unfenced', load)
      expect(load.calls.n).toBe(2)
      expect(fk.stats().fills).toBe(0)
    })

    it('the first read of an entry fences its table once; the next load reads the fence with its first read (two store calls per miss)', async () => {
      const { fk, orm, probe } = setup()
      await orm.insert(post(1))
      probe.reset()
      await fk.wrap('news', () => orm.list('news'))
      // First miss ever: read, fence pre-read of the table, write (and, once per process, the version registration).
      const { register: _once, ...first } = probe.calls
      expect(first).toEqual({ read: 1, counters: 1, write: 1 })
      await orm.update(1, { title: 'changed' })
      probe.reset()
      await fk.wrap('news', () => orm.list('news'))
      expect(probe.calls).toEqual({ read: 1, write: 1 })
      probe.reset()
      await fk.wrap('news', () => orm.list('news'))
      expect(probe.calls).toEqual({ read: 1 })
    })

    it('a nested wrap passes its dependencies to the enclosing one, hit or miss', async () => {
      const { fk, orm } = setup()
      await orm.insert(post(1))
      await orm.insert(post(2, 'sport'))
      const inner = (c: string) => fk.wrap(['list', c], () => orm.list(c))
      await inner('sport') // cached already when the page loads: a hit inside the page's load
      const page = counter(async () => [...(await inner('news')), ...(await inner('sport'))])
      await fk.wrap('page', page)
      await fk.wrap('page', page)
      expect(page.calls.n).toBe(1)
      await orm.update(2, { title: 'sport changed' })
      await fk.wrap('page', page)
      expect(page.calls.n).toBe(2)
      await orm.insert(post(3))
      await fk.wrap('page', page)
      expect(page.calls.n).toBe(3)
    })

    it('the store remembers the filters cached reads use: a process that never read them bumps them too', async () => {
      const { fk, orm } = setup()
      await orm.insert(post(1))
      const load = counter(() => orm.list('news'))
      await fk.wrap('news', load)
      // Another process (its own instance, same store) writes: it learns the scheme from the store.
      const other = createFreshkey({ store: fk.store, namespace: fk.namespace, logger: false })
      opened.push(other)
      await other.changed({ table: 'posts', kind: 'insert', pk: 9, after: post(9) })
      await fk.wrap('news', load)
      expect(load.calls.n).toBe(2)
      await other.changed({ table: 'posts', kind: 'insert', pk: 10, after: post(10, 'sport') })
      await fk.wrap('news', load)
      expect(load.calls.n).toBe(2)
    })

    it('an update that writes one field of a two-field filter misses only the lists with its value', async () => {
      const { fk, orm } = setup()
      await orm.insert(post(1, 'news'))
      await orm.insert(post(2, 'sport'))
      await orm.insert(post(3, 'news', false))
      const loads = Object.fromEntries(
        ['news', 'sport', 'tech'].map((c) => [c, counter(() => orm.list(c))] as const),
      )
      const lists = async () => {
        const out: Record<string, number[]> = {}
        for (const [c, load] of Object.entries(loads))
          out[c] = (await fk.wrap(['list', c], load)).map((p) => p.id)
        return out
      }
      const calls = () => Object.fromEntries(Object.entries(loads).map(([c, l]) => [c, l.calls.n]))
      expect(await lists()).toEqual({ news: [1], sport: [2], tech: [] })
      // The write names `category` only: every condition with category = 'tech' (the one it
      // entered among them), not every condition of the field list.
      await orm.patch(2, { category: 'tech' })
      expect(await lists()).toEqual({ news: [1], sport: [], tech: [2] })
      expect(calls()).toEqual({ news: 1, sport: 2, tech: 2 })
      // Unpublishing names `published = false`: no published list reads it; the member's list sees it leave.
      await orm.patch(1, { published: false })
      expect(await lists()).toEqual({ news: [], sport: [], tech: [2] })
      expect(calls()).toEqual({ news: 2, sport: 2, tech: 2 })
      // Publishing names `published = true` only: every published list, the one it entered among them.
      await orm.patch(3, { published: true })
      expect(await lists()).toEqual({ news: [3], sport: [], tech: [2] })
      expect(calls()).toEqual({ news: 3, sport: 3, tech: 3 })
    })

    it('a count, which does not name its members, misses on any row leaving its field list when the write lacks the old values', async () => {
      const { fk, orm } = setup()
      await orm.insert(post(1, 'news'))
      await orm.insert(post(2, 'sport'))
      const news = counter(() => orm.count('news'))
      const sport = counter(() => orm.count('sport'))
      expect(await fk.wrap(['count', 'news'], news)).toBe(1)
      expect(await fk.wrap(['count', 'sport'], sport)).toBe(1)
      await orm.patch(2, { category: 'news' })
      expect(await fk.wrap(['count', 'news'], news)).toBe(2)
      expect(await fk.wrap(['count', 'sport'], sport)).toBe(0)
      expect([news.calls.n, sport.calls.n]).toEqual([2, 2])
    })
  })
}
