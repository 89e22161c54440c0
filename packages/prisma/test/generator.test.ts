import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { FreshkeyPrismaMetadata } from '../src/index.ts'
import { buildMetadata } from '../src/index.ts'
import './support/clients.ts'
import { generated } from './support/generate-clients.ts'

const load = async (provider: 'sqlite' | 'postgresql'): Promise<FreshkeyPrismaMetadata> =>
  (await import(generated(`${provider}/freshkey/index.js`))).metadata

const datamodel = (d: unknown) => d as Parameters<typeof buildMetadata>[0]

describe('freshkey-prisma generator (run inside prisma generate)', () => {
  it('writes index.js, index.d.ts and metadata.json with the datasource provider', async () => {
    for (const provider of ['sqlite', 'postgresql'] as const) {
      const metadata = await load(provider)
      expect(metadata.format).toBe(2)
      expect(metadata.relationMode).toBe('foreignKeys')
      expect(metadata.provider).toBe(provider)
      const dir = new URL(generated(`${provider}/freshkey/`))
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
      backReferences: [],
      onDelete: 'Cascade',
      onUpdate: 'Cascade',
    })
    expect(models.User?.relations.articles).toEqual({
      target: 'Article',
      list: true,
      fields: [],
      references: [],
      backFields: ['authorId'],
      backReferences: ['id'],
    })
    expect(models.Note?.relations.author?.onDelete).toBe('SetNull')
    expect(models.ChainC?.relations.b).toMatchObject({
      fields: ['bAId'],
      references: ['aId'],
      onUpdate: 'Cascade',
    })
    expect(models.Article?.relations.tags).toMatchObject({
      target: 'Tag',
      joinTable: '_ArticleToTag',
      joinColumn: 'A',
    })
    expect(models.Tag?.relations.articles).toMatchObject({
      target: 'Article',
      joinTable: '_ArticleToTag',
      joinColumn: 'B',
    })
    expect(models.Membership?.compoundUniques).toEqual({ userId_groupId: ['userId', 'groupId'] })
    expect(models.Asset?.types).toMatchObject({ size: 'BigInt', meta: 'Json', createdAt: 'DateTime' })
    expect(models.User?.relations.groups?.joinTable).toBe('_GroupToUser')
  })

  it('records relationMode = "prisma" (emulated referential actions)', async () => {
    const { metadata } = await import(generated('emulated-sqlite/freshkey/index.js'))
    expect(metadata.relationMode).toBe('prisma')
    expect(metadata.models.Book?.relations.shelf).toMatchObject({ onDelete: 'Cascade', onUpdate: 'Cascade' })
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
      // A hand-made datamodel: only what the generator reads.
      datamodel({
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
      }),
      'postgresql',
    )
    expect(metadata.models.B?.relations.a?.onDelete).toBe('SetNull')
    expect(metadata.models.B?.relations.a?.onUpdate).toBe('Cascade')
    expect(metadata.models.C?.relations.a?.onDelete).toBe('Restrict')
    expect(metadata.models.A?.relations.bs?.backFields).toEqual(['aId'])
  })
})
