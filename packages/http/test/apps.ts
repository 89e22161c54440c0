import { createServer } from 'node:http'
import { dep } from '@freshkey/core'
import {
  type EtagOptions,
  type EtagSource,
  freshkeyEtag,
  freshkeyEtagHook,
  freshkeyEtagPlugin,
} from '@freshkey/http'
import express from 'express'
import express4 from 'express4'
import Fastify from 'fastify'
import Fastify4 from 'fastify4'
import { listen } from './servers.ts'

/** One running app with the routes every scenario uses; `calls` counts handler runs per route. */
export interface App {
  url: string
  calls: Map<string, number>
  close(): Promise<void>
}

export interface AppOptions extends EtagOptions {
  fk: EtagSource
}

type Starter = (options: AppOptions) => Promise<App>

const postParts = (id: string) => [dep.row('posts', id), 'post-page']
const badParts = () => [() => 'a function is no key part']

function counter() {
  const calls = new Map<string, number>()
  return { calls, count: (name: string) => calls.set(name, (calls.get(name) ?? 0) + 1) }
}

function expressApp(make: typeof express | typeof express4): Starter {
  return async ({ fk, ...options }) => {
    const { calls, count } = counter()
    const app = (make as typeof express)()
    // Express's own ETag is a hash of the body; off, so that every ETag seen here is freshkey's.
    app.set('etag', false)
    const etag = freshkeyEtag<express.Request>(fk, (req) => postParts(String(req.params.id)), options)
    app.get('/posts/:id', etag, (req, res) => {
      count('post')
      res.json({ id: req.params.id, title: `post ${req.params.id}` })
    })
    app.post('/posts/:id', etag, (_req, res) => {
      count('post-write')
      res.json({ ok: true })
    })
    app.get('/missing/:id', etag, (_req, res) => {
      count('missing')
      res.status(404).json({ error: 'not found' })
    })
    app.get('/bad', freshkeyEtag(fk, badParts), (_req, res) => {
      count('bad')
      res.send('unreachable')
    })
    app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ code: (error as { code?: string }).code })
    })
    const server = await listen(createServer(app))
    return { ...server, calls }
  }
}

function fastifyApp(make: typeof Fastify | typeof Fastify4, mode: 'hook' | 'plugin'): Starter {
  return async ({ fk, ...options }) => {
    const { calls, count } = counter()
    const app = (make as typeof Fastify)()
    type Post = { Params: { id: string } }
    const route = <Req>(parts: (req: Req) => unknown[]) =>
      mode === 'hook'
        ? { onRequest: freshkeyEtagHook(fk, parts, options) }
        : { config: { freshkeyEtag: parts } }
    if (mode === 'plugin') await app.register(freshkeyEtagPlugin, { fk, ...options })
    app.get<Post>(
      '/posts/:id',
      route((req: { params: { id: string } }) => postParts(req.params.id)),
      async (req) => {
        count('post')
        return { id: req.params.id, title: `post ${req.params.id}` }
      },
    )
    app.post<Post>(
      '/posts/:id',
      route((req: { params: { id: string } }) => postParts(req.params.id)),
      async () => {
        count('post-write')
        return { ok: true }
      },
    )
    app.get<Post>(
      '/missing/:id',
      route((req: { params: { id: string } }) => postParts(req.params.id)),
      async (_req, reply) => {
        count('missing')
        return reply.code(404).send({ error: 'not found' })
      },
    )
    app.get('/bad', route<unknown>(badParts), async () => {
      count('bad')
      return 'unreachable'
    })
    app.setErrorHandler((error, _req, reply) => {
      reply.code(500).send({ code: (error as { code?: string }).code })
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as { port: number }
    return { url: `http://127.0.0.1:${port}`, calls, close: () => app.close() }
  }
}

export const frameworks: [string, Starter][] = [
  ['Express 5', expressApp(express)],
  ['Express 4', expressApp(express4)],
  ['Fastify 5 (route hook)', fastifyApp(Fastify, 'hook')],
  ['Fastify 5 (plugin + route config)', fastifyApp(Fastify, 'plugin')],
  ['Fastify 4 (route hook)', fastifyApp(Fastify4, 'hook')],
  ['Fastify 4 (plugin + route config)', fastifyApp(Fastify4, 'plugin')],
]
