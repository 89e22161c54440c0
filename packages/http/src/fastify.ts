import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import { checkArguments, conditionalGet, keepEtagOnSuccessOnly } from './conditional.ts'
import type { EtagOptions, EtagParts, EtagSource } from './options.ts'

/** The part of a Fastify request the hook reads. */
export interface FastifyRequestLike {
  readonly method: string
  readonly headers: IncomingHttpHeaders
}

/** The part of a Fastify reply the hook drives. */
export interface FastifyReplyLike {
  readonly raw: ServerResponse
  header(name: string, value: string): unknown
  code(statusCode: number): unknown
  send(payload?: unknown): unknown
}

/** An async Fastify hook (`onRequest` or `preHandler`). */
export type EtagHook<Req = FastifyRequestLike> = (
  request: Req & FastifyRequestLike,
  reply: FastifyReplyLike,
) => Promise<unknown>

/**
 * Conditional GET for one Fastify route, as its `onRequest` (or `preHandler`) hook: sets the
 * ETag computed from `parts(request)` and answers `304` without running the handler when the
 * request's `If-None-Match` names it.
 *
 * @example
 * app.get('/posts/:id', { onRequest: freshkeyEtagHook(fk, (req) => [dep.row('posts', req.params.id)]) }, handler)
 */
export function freshkeyEtagHook<Req = FastifyRequestLike>(
  fk: EtagSource,
  parts: EtagParts<Req>,
  options: EtagOptions = {},
): EtagHook<Req> {
  checkArguments(fk, parts, 'freshkeyEtagHook')
  return async (request, reply) => {
    const result = await conditionalGet(fk, request, () => parts(request), options)
    if (result.kind === 'skip') return
    reply.header('etag', result.etag)
    if (options.cacheControl !== undefined) reply.header('cache-control', options.cacheControl)
    if (result.kind === 'fresh') {
      reply.code(304)
      reply.send()
      // Returning the reply is how an async Fastify hook says the request is answered.
      return reply
    }
    keepEtagOnSuccessOnly(reply.raw, result.etag, options.cacheControl)
  }
}

/** Options of {@link freshkeyEtagPlugin}. */
export interface EtagPluginOptions extends EtagOptions {
  /** The freshkey instance whose tokens the ETags come from. */
  fk: EtagSource
}

/** The route `config` key {@link freshkeyEtagPlugin} reads: `{ config: { freshkeyEtag: (req) => parts } }`. */
export const ETAG_ROUTE_CONFIG = 'freshkeyEtag'

interface FastifyLike {
  addHook(name: 'onRequest', hook: (request: any, reply: any) => Promise<unknown>): unknown
}

/**
 * A Fastify plugin that gives conditional GET to every route whose `config.freshkeyEtag` holds a
 * parts function; other routes are untouched. Registered without encapsulation, so it reaches
 * the routes of the context it is registered in.
 *
 * @example
 * await app.register(freshkeyEtagPlugin, { fk })
 * app.get('/posts/:id', { config: { freshkeyEtag: (req) => [dep.row('posts', req.params.id)] } }, handler)
 */
export const freshkeyEtagPlugin = Object.assign(
  async function freshkeyEtagPlugin(instance: FastifyLike, options: EtagPluginOptions): Promise<void> {
    const { fk, ...rest } = options ?? ({} as EtagPluginOptions)
    checkArguments(fk, () => [], 'freshkeyEtagPlugin')
    const hooks = new WeakMap<object, EtagHook<any>>()
    instance.addHook('onRequest', async (request, reply) => {
      const config = request.routeOptions?.config ?? request.routeConfig
      const parts = config?.[ETAG_ROUTE_CONFIG] as EtagParts<unknown> | undefined
      if (typeof parts !== 'function') return
      let hook = hooks.get(parts)
      if (!hook) {
        hook = freshkeyEtagHook(fk, parts, rest)
        hooks.set(parts, hook)
      }
      return hook(request, reply)
    })
  },
  {
    // What fastify-plugin sets: no encapsulation, and a name in Fastify's errors and printPlugins().
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: '@freshkey/http',
  },
)
