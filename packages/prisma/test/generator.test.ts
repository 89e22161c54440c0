import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { FreshkeyPrismaMetadata } from '../src/index.ts'
import { buildMetadata } from '../src/index.ts'
import './support/clients.ts'

const load = async (provider: 'sqlite' | 'postgresql'): Promise<FreshkeyPrismaMetadata> =>
  (await import(`./generated/${provider}/freshkey/index.js`)).metadata

describe('freshkey-prisma generator (run inside prisma generate)', () => {
  it('writes index.js, index.d.ts and metadata.json with the datasource provider', async () => {
    for (const provider of ['sqlite', 'postgresql'] as const) {
      const metadata = await load(provider)
      expect(metadata.format).toBe(1)
      expect(metadata.provider).toBe(provider)
      const dir = new URL(`./generated/${provider}/freshkey/`, import.meta.url)
      expect(JSON.parse(readFileSync(new URL('metadata.json', dir), 'utf8'))).toEqual(metadata)
      expect(readFileSync(new URL('index.d.ts', dir), 'utf8')).toContain('FreshkeyPrismaMetadata')
    }
  })

  it('records @@map tables, @map columns, @id and @@id keys', async () => {
    const { models } = await load('sqlite')
    expect(models.User).toMatchObject({
      table: 'app_users',
      primaryKey: ['id'],
      columns: { id: 'id', name: 'full_name' },
    })
    expect(models.Article).toMatchObject({ table: 'blog_articles', columns: { authorId: 'author_id' } })
    expect(models.Membership).toMatchObject({
      table: 'memberships',
      primaryKey: ['userId', 'groupId'],
      primaryKeyName: 'userId_groupId',
      columns: { userId: 'user_id', groupId: 'group_id', role: 'role' },
    })
    expect(models.Asset?.primaryKey).toEqual(['id'])
  })

  it('records which side holds a foreign key, onDelete rules and implicit many-to-many join tables', async () => {
    const { models } = await load('postgresql')
    expect(models.Article?.relations.author).toEqual({
      target: 'User',
      list: false,
      fields: ['authorId'],
      references: ['id'],
      backFields: [],
      onDelete: 'Cascade',
    })
    expect(models.User?.relations.articles).toEqual({
      target: 'Article',
      list: true,
      fields: [],
      references: [],
      backFields: ['authorId'],
    })
    expect(models.Note?.relations.author?.onDelete).toBe('SetNull')
    expect(models.Article?.relations.tags).toMatchObject({ target: 'Tag', joinTable: '_ArticleToTag' })
    expect(models.Tag?.relations.articles).toMatchObject({ target: 'Article', joinTable: '_ArticleToTag' })
    expect(models.User?.relations.groups?.joinTable).toBe('_GroupToUser')
  })

  it('defaults onDelete the way Prisma does: SetNull when optional, Restrict when required', () => {
    const field = (name: string, extra: object = {}) => ({
      name,
      kind: 'scalar',
      type: 'Int',
      isId: false,
      isList: false,
      isRequired: true,
      ...extra,
    })
    const metadata = buildMetadata(
      {
        models: [
          {
            name: 'A',
            dbName: null,
            primaryKey: null,
            fields: [
              field('id', { isId: true }),
              { ...field('bs'), kind: 'object', type: 'B', isList: true, relationName: 'AToB' },
              { ...field('cs'), kind: 'object', type: 'C', isList: true, relationName: 'AToC' },
            ],
          },
          {
            name: 'B',
            dbName: null,
            primaryKey: null,
            fields: [
              field('id', { isId: true }),
              field('aId', { isRequired: false }),
              {
                ...field('a'),
                kind: 'object',
                type: 'A',
                isRequired: false,
                relationName: 'AToB',
                relationFromFields: ['aId'],
                relationToFields: ['id'],
              },
            ],
          },
          {
            name: 'C',
            dbName: null,
            primaryKey: null,
            fields: [
              field('id', { isId: true }),
              field('aId'),
              {
                ...field('a'),
                kind: 'object',
                type: 'A',
                relationName: 'AToC',
                relationFromFields: ['aId'],
                relationToFields: ['id'],
              },
            ],
          },
        ],
      },
      'postgresql',
    )
    expect(metadata.models.B?.relations.a?.onDelete).toBe('SetNull')
    expect(metadata.models.C?.relations.a?.onDelete).toBe('Restrict')
    expect(metadata.models.A?.relations.bs?.backFields).toEqual(['aId'])
  })
})
