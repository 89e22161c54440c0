import type { IncomingMessage, ServerResponse } from 'node:http'
import { checkArguments, conditionalGet, keepEtagOnSuccessOnly } from './conditional.ts'
import type { EtagOptions, EtagParts, EtagSource } from './options.ts'

/** A Connect/Express middleware. */
export type EtagMiddleware<Req = IncomingMessage> = (
  req: Req & IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void

/**
 * Conditional GET for Express (or any Connect-style stack): sets a short opaque ETag computed
 * from `parts(req)` on GET and HEAD responses and answers `304 Not Modified` without running the
 * handler when the request's `If-None-Match` names it. Any bump of a dependency among the parts
 * changes the tag.
 *
 * @example
 * app.get('/posts/:id', freshkeyEtag(fk, (req) => [dep.row('posts', req.params.id)]), handler)
 */
export function freshkeyEtag<Req = IncomingMessage>(
  fk: EtagSource,
  parts: EtagParts<Req>,
  options: EtagOptions = {},
): EtagMiddleware<Req> {
  checkArguments(fk, parts, 'freshkeyEtag')
  return (req, res, next) => {
    conditionalGet(fk, req, () => parts(req), options).then(
      (result) => {
        if (result.kind === 'skip') return next()
        res.setHeader('ETag', result.etag)
        if (options.cacheControl !== undefined) res.setHeader('Cache-Control', options.cacheControl)
        if (result.kind === 'fresh') {
          res.statusCode = 304
          res.end()
          return
        }
        keepEtagOnSuccessOnly(res, result.etag, options.cacheControl)
        next()
      },
      (error: unknown) => next(error),
    )
  }
}
