import 'reflect-metadata'
import { type Freshkey, memoryStore, type Store } from '@freshkey/core'
import { FRESHKEY, FreshkeyModule, NotInjectedError, NotModifiedException } from '@freshkey/nestjs'
import { type INestApplication, Module } from '@nestjs/common'
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify'
import { Test } from '@nestjs/testing'
import request from 'supertest'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { BlogModule, Posts, PostsService } from './blog-app.ts'

const ETAG = /^W\/"[A-Za-z0-9_-]{22}"$/
let seq = 0
const namespace = () => `nest-${process.pid}-${++seq}`

async function start(platform: 'express' | 'fastify', store: Store | (() => Store) = memoryStore()) {
  const moduleRef = await Test.createTestingModule({
    imports: [FreshkeyModule.forRoot({ namespace: namespace(), store }), BlogModule],
  }).compile()
  if (platform === 'express') {
    const app = moduleRef.createNestApplication()
    await app.init()
    return app
  }
  const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter())
  await app.init()
  await app.getHttpAdapter().getInstance().ready()
  return app
}

describe.each(['express', 'fastify'] as const)('a Nest app on %s', (platform) => {
  let app: INestApplication | undefined
  afterEach(async () => {
    await app?.close()
    app = undefined
  })

  test('@Cached() service method: loads once, again after a bump of its dependency', async () => {
    app = await start(platform)
    const posts = app.get(Posts)
    const http = () => request(app!.getHttpServer())
    expect((await http().get('/posts/1')).body).toEqual({ id: '1', title: 'Hello' })
    expect((await http().get('/posts/1')).body).toEqual({ id: '1', title: 'Hello' })
    expect(posts.reads.get('1')).toBe(1)
    await http().post('/posts/1/rename/Bonjour').expect(204)
    expect((await http().get('/posts/1')).body).toEqual({ id: '1', title: 'Bonjour' })
    expect(posts.reads.get('1')).toBe(2)
  })

  test('@Etag(): short opaque ETag, 304 without running the handler, new tag after a bump', async () => {
    app = await start(platform)
    const posts = app.get(Posts)
    const http = () => request(app!.getHttpServer())
    const first = await http().get('/posts/2').expect(200)
    const etag = first.headers.etag as string
    expect(etag).toMatch(ETAG)
    expect(etag).not.toMatch(/posts|nest-/)

    const again = await http().get('/posts/2').set('If-None-Match', etag).expect(304)
    expect(again.text ?? '').toBe('')
    expect(again.headers.etag).toBe(etag)
    expect(posts.reads.get('2')).toBe(1)

    await http().post('/posts/2/rename/Versions').expect(204)
    const after = await http().get('/posts/2').set('If-None-Match', etag).expect(200)
    expect(after.body).toEqual({ id: '2', title: 'Versions' })
    expect(after.headers.etag).toMatch(ETAG)
    expect(after.headers.etag).not.toBe(etag)
  })

  test('an error response carries no ETag', async () => {
    app = await start(platform)
    const missing = await request(app.getHttpServer()).get('/posts/404').expect(404)
    expect(missing.headers.etag).toBeUndefined()
  })

  test('@Cached() above @Get(): the route still exists and is cached', async () => {
    app = await start(platform)
    const posts = app.get(Posts)
    const http = () => request(app!.getHttpServer())
    expect((await http().get('/posts/1/title').expect(200)).body).toEqual({ title: 'Hello' })
    await http().get('/posts/1/title').expect(200)
    expect(posts.reads.get('1')).toBe(1)
  })
})

describe('FreshkeyModule', () => {
  test('@InjectFreshkey() and FRESHKEY give the one instance; @Cached() uses it, resolved per app', async () => {
    const a = await start('express')
    const b = await start('express')
    try {
      const fkA = a.get<Freshkey>(FRESHKEY)
      expect(a.get(PostsService).fk).toBe(fkA)
      expect(b.get<Freshkey>(FRESHKEY)).not.toBe(fkA)
      expect(await a.get(PostsService).titles()).toEqual(['Hello', 'Tokens'])
      expect(fkA.stats().misses).toBe(1)
      expect(b.get<Freshkey>(FRESHKEY).stats().misses).toBe(0)
      expect(await a.get(PostsService).titles()).toEqual(['Hello', 'Tokens'])
      expect(fkA.stats().hits).toBe(1)
    } finally {
      await a.close()
      await b.close()
    }
  })

  test('a @Cached() method on an object Nest did not create fails with E_NOT_INJECTED', async () => {
    const service = new PostsService(new Posts(), undefined as never)
    await expect(service.findOne('1')).rejects.toThrow(NotInjectedError)
    await expect(service.findOne('1')).rejects.toMatchObject({
      code: 'E_NOT_INJECTED',
      method: 'PostsService.findOne',
    })
  })

  test('closes a store it created (factory or default) on app close, never a Store passed in', async () => {
    const made = memoryStore()
    const closeMade = vi.spyOn(made, 'close')
    const app = await start('express', () => made)
    await app.close()
    expect(closeMade).toHaveBeenCalledOnce()

    const given = memoryStore()
    const closeGiven = vi.spyOn(given, 'close')
    const other = await start('express', given)
    await other.close()
    expect(closeGiven).not.toHaveBeenCalled()
    await given.close()
  })

  test('forRootAsync: options from other providers', async () => {
    const CONFIG = Symbol('config')
    const ns = namespace()
    @Module({ providers: [{ provide: CONFIG, useValue: { ns } }], exports: [CONFIG] })
    class ConfigModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [
        FreshkeyModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CONFIG],
          useFactory: async (config: { ns: string }) => ({ namespace: config.ns, version: '3' }),
        }),
        BlogModule,
      ],
    }).compile()
    const app = moduleRef.createNestApplication()
    await app.init()
    expect(app.get<Freshkey>(FRESHKEY).namespace).toBe(ns)
    expect(await app.get(PostsService).findOne('1')).toEqual({ id: '1', title: 'Hello' })
    await app.close()
  })

  test('isGlobal: false: a module that does not import it cannot start (a @Cached() class needs it)', async () => {
    const compiling = Test.createTestingModule({
      imports: [FreshkeyModule.forRoot({ namespace: namespace(), isGlobal: false }), BlogModule],
    }).compile()
    await expect(compiling).rejects.toThrow(/can't resolve dependencies of the PostsService/)
  })

  test('bad options fail at startup with E_CONFIG', async () => {
    expect(() => FreshkeyModule.forRoot(null as never)).toThrow(expect.objectContaining({ code: 'E_CONFIG' }))
    expect(() => FreshkeyModule.forRootAsync({} as never)).toThrow(
      expect.objectContaining({ code: 'E_CONFIG' }),
    )
  })

  test('NotModifiedException is a 304 HttpException', () => {
    expect(new NotModifiedException().getStatus()).toBe(304)
  })
})
