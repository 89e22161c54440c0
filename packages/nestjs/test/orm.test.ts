import 'reflect-metadata'
import { dep, type Freshkey } from '@freshkey/core'
import { Cached, FRESHKEY, FreshkeyModule } from '@freshkey/nestjs'
import { defineEntity, p } from '@mikro-orm/core'
import { MikroORM } from '@mikro-orm/libsql'
import { Injectable, Module } from '@nestjs/common'
import { Test } from '@nestjs/testing'
import { InjectRepository, TypeOrmModule } from '@nestjs/typeorm'
import { Column, DataSource, Entity, PrimaryColumn, type Repository } from 'typeorm'
import { describe, expect, test } from 'vitest'

let seq = 0
const namespace = () => `nest-orm-${process.pid}-${++seq}`

@Entity({ name: 'nest_articles' })
class Article {
  @PrimaryColumn('integer') id!: number
  @Column('varchar') title!: string
}

@Injectable()
class TypeOrmArticles {
  loads = 0
  constructor(@InjectRepository(Article) readonly repo: Repository<Article>) {}

  @Cached({ deps: (id: number) => [dep.row('nest_articles', id)] })
  async title(id: number) {
    this.loads++
    return (await this.repo.findOneBy({ id }))?.title ?? null
  }
}

@Module({ imports: [TypeOrmModule.forFeature([Article])], providers: [TypeOrmArticles] })
class TypeOrmArticlesModule {}

describe('attaching an ORM', () => {
  test('TypeORM through @nestjs/typeorm: a write through the repository invalidates @Cached() reads', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({ type: 'sqljs', entities: [Article], synchronize: true }),
        FreshkeyModule.forRootAsync({
          inject: [DataSource],
          useFactory: (dataSource: DataSource) => ({ namespace: namespace(), typeorm: dataSource }),
        }),
        TypeOrmArticlesModule,
      ],
    }).compile()
    const app = moduleRef.createNestApplication()
    await app.init()
    const articles = app.get(TypeOrmArticles)
    const dataSource = app.get(DataSource)
    const subscribers = dataSource.subscribers.length
    await articles.repo.insert({ id: 1, title: 'first' })
    expect(await articles.title(1)).toBe('first')
    expect(await articles.title(1)).toBe('first')
    expect(articles.loads).toBe(1)
    await articles.repo.update({ id: 1 }, { title: 'second' })
    expect(await articles.title(1)).toBe('second')
    expect(articles.loads).toBe(2)
    await app.close()
    expect(dataSource.subscribers.length).toBe(subscribers - 1)
  })

  test('MikroORM: an instance passed as mikroOrm is attached, and detached on close', async () => {
    const NoteSchema = defineEntity({
      name: 'Note',
      tableName: 'nest_notes',
      properties: { id: p.integer().primary().autoincrement(false), text: p.string() },
    })
    const orm = await MikroORM.init({ dbName: ':memory:', entities: [NoteSchema] })
    await orm.schema.create()
    @Injectable()
    class Notes {
      loads = 0
      @Cached({ deps: (id: number) => [dep.row('nest_notes', id)] })
      async text(id: number) {
        this.loads++
        return (await orm.em.fork().findOne(NoteSchema, { id }))?.text ?? null
      }
    }
    const moduleRef = await Test.createTestingModule({
      imports: [FreshkeyModule.forRoot({ namespace: namespace(), mikroOrm: orm })],
      providers: [Notes],
    }).compile()
    const app = moduleRef.createNestApplication()
    await app.init()
    const notes = app.get(Notes)
    const em = orm.em.fork()
    em.create(NoteSchema, { id: 1, text: 'draft' })
    await em.flush()
    expect(await notes.text(1)).toBe('draft')
    expect(await notes.text(1)).toBe('draft')
    expect(notes.loads).toBe(1)
    const note = await em.findOneOrFail(NoteSchema, { id: 1 })
    note.text = 'final'
    await em.flush()
    expect(await notes.text(1)).toBe('final')
    expect(notes.loads).toBe(2)
    const fk = app.get<Freshkey>(FRESHKEY)
    await app.close()
    const before = fk.stats().invalidations
    note.text = 'after close'
    await em.flush()
    expect(fk.stats().invalidations).toBe(before)
    await orm.close(true)
  })
})
