import { dep } from '@freshkey/core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { matrix, watch } from './support/harness.ts'
import { blogDeps, type Fixture, openFixture } from './support/setup.ts'

const ALL_ARTICLES = ['a1', 'a2', 'a3', 'a9', 'articles', 'draftNews', 'pubNews', 'pubTech']

describe.each(matrix())('writes on $db with $store store', (combo) => {
  let f: Fixture
  let changed: () => Promise<string[]>
  beforeAll(async () => {
    f = await openFixture(combo)
  })
  beforeEach(async () => {
    await f.reset()
    changed = (await watch(f.fk, blogDeps())).changed
  })
  afterAll(() => f?.close())

  describe('create', () => {
    it('records an insert with the key from the result and the after image', async () => {
      await f.prisma.article.create({
        data: { id: 9, title: 'x', published: true, category: 'news', authorId: 2 },
      })
      expect(await changed()).toEqual(['a9', 'articles', 'pubNews'])
    })

    it('walks nested creates, to-one creates and many-to-many connects', async () => {
      await f.prisma.user.create({
        data: {
          id: 3,
          name: 'Cy',
          articles: { create: [{ id: 9, title: 'x', category: 'news', published: true }] },
          profile: { create: { bio: 'b' } },
          groups: { connect: [{ id: 10 }] },
        },
      })
      expect(await changed()).toEqual(['a9', 'articles', 'groupUsers', 'profiles', 'pubNews', 'users'])
    })

    it('nested connectOrCreate counts the target table and the join table', async () => {
      await f.prisma.article.create({
        data: {
          id: 9,
          title: 'x',
          published: false,
          category: 'news',
          authorId: 1,
          tags: { connectOrCreate: [{ where: { name: 'new' }, create: { name: 'new' } }] },
        },
      })
      expect(await changed()).toEqual(['a9', 'articleTags', 'articles', 'draftNews', 'tag1', 'tags'])
    })
  })

  describe('createMany / createManyAndReturn', () => {
    it('createMany with keys in the data records rows', async () => {
      await f.prisma.article.createMany({
        data: [{ id: 9, title: 'x', published: false, category: 'news', authorId: 1 }],
      })
      expect(await changed()).toEqual(['a9', 'articles', 'draftNews'])
    })

    it('createMany with a scoped field left to its default invalidates the conditions with the values it names', async () => {
      await f.prisma.article.createMany({ data: [{ id: 9, title: 'x', category: 'news', authorId: 1 }] })
      // `published` is the database's default: every condition with category = 'news', not pubTech.
      expect(await changed()).toEqual(['a9', 'articles', 'draftNews', 'pubNews'])
    })

    it('createMany without keys is a bulk change', async () => {
      await f.prisma.tag.createMany({ data: [{ name: 'a' }, { name: 'b' }] })
      expect(await changed()).toEqual(['tag1', 'tags'])
    })

    it('createManyAndReturn records the returned rows', async () => {
      await f.prisma.article.createManyAndReturn({
        data: [{ id: 9, title: 'x', published: true, category: 'news', authorId: 1 }],
      })
      expect(await changed()).toEqual(['a9', 'articles', 'pubNews'])
    })

    it('createManyAndReturn with a narrow select names the rows (key added and removed again), scopes go wide', async () => {
      const rows = await f.prisma.article.createManyAndReturn({
        data: [{ id: 9, title: 'x', published: true, category: 'news', authorId: 1 }],
        select: { title: true },
      })
      expect(rows).toEqual([{ title: 'x' }])
      expect(await changed()).toEqual(['a9', 'articles', 'draftNews', 'pubNews', 'pubTech'])
    })
  })

  describe('update', () => {
    it('a field outside every scope touches the row and the table only', async () => {
      await f.prisma.article.update({ where: { id: 1 }, data: { title: 'new' } })
      expect(await changed()).toEqual(['a1', 'articles'])
    })

    it('a row moving between declared scopes: no before image is read, the returned row narrows what it can', async () => {
      // The category it left is unknown and its unchanged `published` is a boolean: every scope.
      await f.prisma.article.update({ where: { id: 1 }, data: { category: 'news' } })
      expect(await changed()).toEqual(['a1', 'articles', 'draftNews', 'pubNews', 'pubTech'])
      // Its unchanged category comes back with the row: only news's scopes.
      await f.prisma.article.update({ where: { id: 3 }, data: { published: true } })
      expect(await changed()).toEqual(['a3', 'articles', 'draftNews', 'pubNews'])
    })

    it('the category guessed from the row last returned is checked: a row moved behind its back is bumped again', async () => {
      await f.prisma.article.update({ where: { id: 3 }, data: { published: true } }) // seen: news
      await f.prisma.$executeRaw`UPDATE blog_articles SET category = 'tech' WHERE id = 3`
      await changed()
      await f.prisma.article.update({ where: { id: 3 }, data: { published: false } })
      // Fenced as news; the row returned says tech, so pubTech (the scope it left) moved too.
      expect(await changed()).toEqual(['a3', 'articles', 'draftNews', 'pubNews', 'pubTech'])
    })

    it('a row a cached read returned: its update fences the scopes of its category at once, no bump after it', async () => {
      const v = f.variant({}) // a client that has seen no row yet
      const bumps = () => v.fk.stats().invalidations
      // Never seen: the scopes of its category are bumped once the row returned names it.
      let before = bumps()
      await v.prisma.article.update({ where: { id: 1 }, data: { published: false } })
      await v.fk.idle()
      expect(bumps() - before).toBe(2)
      // Read inside a wrap: its published and category are remembered, so the fence names them.
      await v.fk.wrap('article 3', () => v.prisma.article.findUniqueOrThrow({ where: { id: 3 } }))
      before = bumps()
      await v.prisma.article.update({ where: { id: 3 }, data: { published: true } })
      await v.fk.idle()
      expect(bumps() - before).toBe(1)
      expect(v.fk.stats().adapterErrors).toBe(0)
    })

    it('a narrow select gets its key added and removed again; nothing else is added', async () => {
      const result = await f.prisma.article.update({
        where: { id: 1 },
        data: { published: false },
        select: { title: true },
      })
      expect(result).toEqual({ title: 'one' })
      expect(await changed()).toEqual(['a1', 'articles', 'draftNews', 'pubNews', 'pubTech'])
    })

    it('omit of the key is undone for the change and redone on the result; other omitted fields stay omitted', async () => {
      const result = await f.prisma.article.update({
        where: { id: 1 },
        data: { category: 'news' },
        omit: { id: true, category: true },
      })
      expect(Object.keys(result).sort()).toEqual(['authorId', 'published', 'title', 'views'])
      expect(await changed()).toEqual(['a1', 'articles', 'draftNews', 'pubNews', 'pubTech'])
    })

    it('connecting a to-one relation changes the foreign key of the row itself', async () => {
      await f.prisma.article.update({ where: { id: 1 }, data: { author: { connect: { id: 2 } } } })
      expect(await changed()).toEqual(['a1', 'articles'])
    })

    it('a changed primary key is a delete of the old key and an insert of the new one, with ON UPDATE tables', async () => {
      await f.prisma.article.update({ where: { id: 3 }, data: { id: 9 } })
      expect(await changed()).toEqual([
        'a3',
        'a9',
        'articleTags',
        'articles',
        'comments',
        'draftNews',
        'pubNews',
        'pubTech',
      ])
    })

    it('a unique where that is not the key names the row from the result', async () => {
      const v = f.variant({ scopes: { Tag: ['name'] } })
      const w = await watch(v.fk, {
        db: dep.scope('tags', { name: 'db' }),
        sql: dep.scope('tags', { name: 'sql' }),
        tag1: dep.row('tags', 1),
        tag2: dep.row('tags', 2),
      })
      await v.prisma.tag.update({ where: { name: 'db' }, data: { name: 'sql' } })
      expect(await w.changed()).toEqual(['db', 'sql', 'tag1'])
    })

    it("a failed autocommit update rejects with the database's error and costs only needless misses", async () => {
      const errors = f.fk.stats().adapterErrors
      await expect(
        f.prisma.article.update({ where: { id: 404 }, data: { title: 'x' } }),
      ).rejects.toMatchObject({ code: 'P2025' })
      expect(f.fk.stats().adapterErrors).toBe(errors)
      expect(await changed()).not.toContain('a1')
    })
  })

  describe('upsert', () => {
    it('an upsert that updates records the returned row (both the insert and the update it may have been)', async () => {
      await f.prisma.article.upsert({
        where: { id: 1 },
        create: { id: 1, title: 'x', authorId: 1 },
        update: { title: 'y' },
      })
      expect(await changed()).toEqual(['a1', 'articles', 'pubTech'])
    })

    it('an upsert that inserts records its returned row', async () => {
      await f.prisma.article.upsert({
        where: { id: 9 },
        create: { id: 9, title: 'x', published: true, category: 'news', authorId: 1 },
        update: { title: 'y' },
      })
      expect(await changed()).toEqual(['a9', 'articles', 'pubNews'])
    })
  })

  describe('updateMany / updateManyAndReturn', () => {
    it('updateMany is a bulk change of the table', async () => {
      await f.prisma.article.updateMany({ where: { category: 'tech' }, data: { views: 5 } })
      expect(await changed()).toEqual(ALL_ARTICLES)
    })

    it('updateManyAndReturn records the returned rows', async () => {
      await f.prisma.article.updateManyAndReturn({ where: { id: 3 }, data: { title: 'x' } })
      expect(await changed()).toEqual(['a3', 'articles'])
      await f.prisma.article.updateManyAndReturn({ where: { id: 3 }, data: { published: true } })
      // The row returned tells its unchanged category: only news's scopes, not pubTech.
      expect(await changed()).toEqual(['a3', 'articles', 'draftNews', 'pubNews'])
    })
  })

  describe('delete', () => {
    it('an autocommit delete by key is fenced with its statement: row, cascades, join rows, the scopes it may leave', async () => {
      const row = await f.prisma.article.delete({ where: { id: 1 } })
      expect(row.title).toBe('one')
      expect(await changed()).toEqual([
        'a1',
        'articleTags',
        'articles',
        'comments',
        'draftNews',
        'pubNews',
        'pubTech',
      ])
    })

    it('in a transaction a delete records the row it returned as its before image', async () => {
      await f.prisma.$transaction((tx) => tx.article.delete({ where: { id: 1 } }))
      expect(await changed()).toEqual(['a1', 'articleTags', 'articles', 'comments', 'pubTech'])
    })

    it('deleteMany is a bulk change with its cascades', async () => {
      await f.prisma.article.deleteMany({ where: { category: 'tech' } })
      expect(await changed()).toEqual([
        'a1',
        'a2',
        'a3',
        'a9',
        'articleTags',
        'articles',
        'comments',
        'draftNews',
        'pubNews',
        'pubTech',
      ])
    })

    it('a user delete follows ON DELETE CASCADE transitively, SET NULL and implicit many-to-many rows', async () => {
      await f.prisma.user.delete({ where: { id: 1 } })
      expect(await changed()).toEqual(
        [
          ...ALL_ARTICLES,
          'articleTags',
          'comments',
          'groupUsers',
          'notes',
          'profiles',
          'user1',
          'users',
        ].sort(),
      )
      expect(await f.db.base.note.findUnique({ where: { id: 1 } })).toMatchObject({ authorId: null })
    })
  })

  describe('nested writes in update', () => {
    it('update, delete, disconnect and to-one update in one call', async () => {
      await f.prisma.user.update({
        where: { id: 1 },
        data: {
          articles: { update: [{ where: { id: 1 }, data: { title: 'x' } }], delete: [{ id: 2 }] },
          notes: { disconnect: [{ id: 1 }] },
          profile: { update: { bio: 'x' } },
        },
      })
      expect(await changed()).toEqual(
        [
          'a1',
          'a2',
          'articleTags',
          'articles',
          'comments',
          'draftNews',
          'notes',
          'profiles',
          'pubNews',
          'pubTech',
          'user1',
          'users',
        ].sort(),
      )
    })

    it('connect on a to-many relation updates the foreign key of the connected rows', async () => {
      await f.prisma.user.update({ where: { id: 2 }, data: { articles: { connect: [{ id: 1 }] } } })
      expect(await changed()).toEqual(['a1', 'articles', 'user2', 'users'])
    })

    it('many-to-many connect, set and disconnect change the join table', async () => {
      await f.prisma.article.update({ where: { id: 2 }, data: { tags: { connect: [{ id: 1 }] } } })
      expect(await changed()).toEqual(['a2', 'articleTags', 'articles'])
      await f.prisma.article.update({ where: { id: 2 }, data: { tags: { set: [] } } })
      expect(await changed()).toEqual(['a2', 'articleTags', 'articles'])
      await f.prisma.tag.update({ where: { name: 'db' }, data: { articles: { disconnect: [{ id: 1 }] } } })
      expect(await changed()).toEqual(['articleTags', 'tag1', 'tags'])
    })

    it('nested updateMany, deleteMany, createMany and upsert', async () => {
      await f.prisma.user.update({
        where: { id: 1 },
        data: { articles: { updateMany: { where: {}, data: { views: 1 } } } },
      })
      expect(await changed()).toEqual([...ALL_ARTICLES, 'user1', 'users'].sort())
      await f.prisma.user.update({
        where: { id: 1 },
        data: { articles: { deleteMany: { category: 'tech' } } },
      })
      expect(await changed()).toEqual([...ALL_ARTICLES, 'articleTags', 'comments', 'user1', 'users'].sort())
      await f.prisma.user.update({
        where: { id: 2 },
        data: { articles: { createMany: { data: [{ id: 9, title: 'x' }] } } },
      })
      expect(await changed()).toEqual(['a9', 'articles', 'draftNews', 'pubNews', 'pubTech', 'user2', 'users'])
      await f.prisma.user.update({
        where: { id: 2 },
        data: { profile: { upsert: { create: { bio: 'b' }, update: { bio: 'c' } } } },
      })
      expect(await changed()).toEqual(['profiles', 'user2', 'users'])
    })
  })

  describe('composite @@id', () => {
    it('create, update and delete use the composite key object', async () => {
      await f.prisma.membership.create({ data: { userId: 2, groupId: 10, role: 'member' } })
      expect(await changed()).toEqual(['m2x10', 'memberships'])
      await f.prisma.membership.update({
        where: { userId_groupId: { userId: 1, groupId: 10 } },
        data: { role: 'admin' },
      })
      expect(await changed()).toEqual(['m1x10', 'memberships'])
      await f.prisma.membership.delete({ where: { userId_groupId: { userId: 2, groupId: 10 } } })
      expect(await changed()).toEqual(['m2x10', 'memberships'])
    })
  })

  describe('raw SQL', () => {
    it('$executeRaw invalidates the tables its SQL writes, with their ON UPDATE tables', async () => {
      await f.prisma.$executeRaw`UPDATE blog_articles SET views = views + 1`
      expect(await changed()).toEqual([...ALL_ARTICLES, 'articleTags', 'comments'].sort())
    })

    it("rawSql: 'all' invalidates every table", async () => {
      const v = f.variant({ rawSql: 'all' })
      const w = await watch(v.fk, blogDeps())
      await v.prisma.$executeRaw`UPDATE groups SET name = name`
      expect(await w.changed()).toEqual(Object.keys(blogDeps()).sort())
    })

    it('rawSql as a function declares the tables of a statement', async () => {
      const v = f.variant({ rawSql: (sql) => (sql.includes('my_function') ? ['notes'] : undefined) })
      const w = await watch(v.fk, blogDeps())
      await v.prisma.$executeRawUnsafe(`SELECT 1 AS my_function`)
      expect(await w.changed()).toEqual(['notes'])
    })

    it('a reading $queryRaw invalidates nothing; a writing one does', async () => {
      expect(await f.prisma.$queryRaw`SELECT id FROM blog_articles WHERE id = ${1}`).toHaveLength(1)
      expect(await changed()).toEqual([])
      await f.prisma.$queryRawUnsafe("INSERT INTO groups (id, name) VALUES (11, 'h') RETURNING id")
      expect(await changed()).toEqual(['groups'])
    })
  })
})
