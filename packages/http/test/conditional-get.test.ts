import { dep } from '@freshkey/core'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { serviceUrl } from '../../../test/support/index.ts'
import { type App, frameworks } from './apps.ts'
import { type Setup, setup } from './fixtures.ts'

const redisUrl = serviceUrl('REDIS_URL')
const stores = redisUrl ? (['memory', 'redis'] as const) : (['memory'] as const)
const ETAG = /^W\/"[A-Za-z0-9_-]{22}"$/

describe.each(frameworks)('%s', (_name, start) => {
  describe.each(stores)('on the %s store', (store) => {
    let s: Setup
    let app: App
    let storeErrors: unknown[]
    beforeEach(async () => {
      s = setup(store, redisUrl)
      storeErrors = []
      app = await start({ fk: s.fk, onStoreError: (e) => storeErrors.push(e) })
    })
    afterEach(async () => {
      await app.close()
      await s.close()
    })
    const get = (path: string, etag?: string, method = 'GET') =>
      fetch(`${app.url}${path}`, { method, headers: etag ? { 'if-none-match': etag } : {} })

    test('GET sets a short opaque ETag; If-None-Match with it gets 304 without running the handler', async () => {
      const first = await get('/posts/1')
      expect(first.status).toBe(200)
      expect(await first.json()).toEqual({ id: '1', title: 'post 1' })
      const etag = first.headers.get('etag')!
      expect(etag).toMatch(ETAG)
      expect(etag).not.toMatch(/posts|http-|post-page/)

      const again = await get('/posts/1', etag)
      expect(again.status).toBe(304)
      expect(await again.text()).toBe('')
      expect(again.headers.get('etag')).toBe(etag)
      expect(app.calls.get('post')).toBe(1)

      // The strong form and a list are weak-compared too.
      expect((await get('/posts/1', `"x", ${etag.slice(2)}`)).status).toBe(304)
      expect(app.calls.get('post')).toBe(1)
    })

    test('a bump of a dependency changes the ETag; a bump of another one does not', async () => {
      const etag = (await get('/posts/1')).headers.get('etag')!
      await s.fk.invalidate(dep.row('posts', 2))
      expect((await get('/posts/1', etag)).status).toBe(304)

      await s.fk.invalidate(dep.row('posts', 1))
      const after = await get('/posts/1', etag)
      expect(after.status).toBe(200)
      expect(after.headers.get('etag')).toMatch(ETAG)
      expect(after.headers.get('etag')).not.toBe(etag)
      expect(app.calls.get('post')).toBe(2)

      await s.fk.invalidate(dep.table('posts'))
      expect((await get('/posts/1', after.headers.get('etag')!)).status).toBe(200)
      expect(app.calls.get('post')).toBe(3)
    })

    test('each resource has its own ETag', async () => {
      const one = (await get('/posts/1')).headers.get('etag')
      const two = (await get('/posts/2')).headers.get('etag')
      expect(one).not.toBe(two)
      expect((await get('/posts/2', one!)).status).toBe(200)
    })

    test('HEAD is conditional too', async () => {
      const etag = (await get('/posts/1')).headers.get('etag')!
      expect((await get('/posts/1', etag, 'HEAD')).status).toBe(304)
      expect((await get('/posts/1', undefined, 'HEAD')).headers.get('etag')).toBe(etag)
    })

    test('other methods get no ETag and always run', async () => {
      const etag = (await get('/posts/1')).headers.get('etag')!
      const post = await get('/posts/1', etag, 'POST')
      expect(post.status).toBe(200)
      expect(post.headers.get('etag')).toBeNull()
      expect(app.calls.get('post-write')).toBe(1)
    })

    test('an error status carries no ETag, so it can never be revalidated into a 304', async () => {
      const missing = await get('/missing/9')
      expect(missing.status).toBe(404)
      expect(missing.headers.get('etag')).toBeNull()
    })

    test('a bad key part reaches the error handler with its code', async () => {
      const bad = await get('/bad')
      expect(bad.status).toBe(500)
      expect(await bad.json()).toEqual({ code: 'E_INVALID_KEY_PART' })
      expect(app.calls.get('bad')).toBeUndefined()
    })

    test('store down: the request is served without an ETag (cache trouble never fails a read)', async () => {
      const etag = (await get('/posts/1')).headers.get('etag')!
      s.storeDown(true)
      const res = await get('/posts/1', etag)
      expect(res.status).toBe(200)
      expect(res.headers.get('etag')).toBeNull()
      expect(storeErrors).toHaveLength(1)
      expect(storeErrors[0]).toMatchObject({ code: 'E_STORE_UNAVAILABLE' })
      s.storeDown(false)
      expect((await get('/posts/1', etag)).status).toBe(304)
    })
  })

  test('cacheControl is sent with the ETag, on the 200 and on the 304, not on errors', async () => {
    const s = setup('memory')
    const app = await start({ fk: s.fk, cacheControl: 'private, no-cache' })
    try {
      const first = await fetch(`${app.url}/posts/1`)
      expect(first.headers.get('cache-control')).toBe('private, no-cache')
      const again = await fetch(`${app.url}/posts/1`, {
        headers: { 'if-none-match': first.headers.get('etag')! },
      })
      expect(again.status).toBe(304)
      expect(again.headers.get('cache-control')).toBe('private, no-cache')
      expect((await fetch(`${app.url}/missing/1`)).headers.get('cache-control')).not.toBe('private, no-cache')
    } finally {
      await app.close()
      await s.close()
    }
  })
})

test("Express's own body-hash ETag gives way to freshkey's on the routes that use it", async () => {
  const { default: express } = await import('express')
  const { createServer } = await import('node:http')
  const { freshkeyEtag } = await import('@freshkey/http')
  const { listen } = await import('./servers.ts')
  const s = setup('memory')
  const app = express()
  app.get(
    '/a',
    freshkeyEtag(s.fk, () => [dep.tag('a')]),
    (_req, res) => res.send('a'),
  )
  app.get('/b', (_req, res) => res.send('b'))
  const server = await listen(createServer(app))
  try {
    const a = await fetch(`${server.url}/a`)
    expect(a.headers.get('etag')).toMatch(ETAG)
    expect(
      (await fetch(`${server.url}/a`, { headers: { 'if-none-match': a.headers.get('etag')! } })).status,
    ).toBe(304)
    await s.fk.invalidate(dep.tag('a'))
    expect(
      (await fetch(`${server.url}/a`, { headers: { 'if-none-match': a.headers.get('etag')! } })).status,
    ).toBe(200)
    expect((await fetch(`${server.url}/b`)).headers.get('etag')).not.toMatch(ETAG)
  } finally {
    await server.close()
    await s.close()
  }
})
