import type { Freshkey } from '@freshkey/core'
import { conditionalGet, type EtagOptions, keepEtagOnSuccessOnly } from '@freshkey/http'
import {
  applyDecorators,
  type CallHandler,
  type ExecutionContext,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  type NestInterceptor,
  SetMetadata,
  UseInterceptors,
} from '@nestjs/common'
import { Reflector } from '@nestjs/core'
import { from, type Observable, switchMap } from 'rxjs'
import { ETAG_METADATA, FRESHKEY } from './tokens.ts'

/** The key parts of a request: dependencies, entities and values, as for `fk.keyFor(...parts)`. */
export type EtagRouteParts = (
  request: any,
  context: ExecutionContext,
) => readonly unknown[] | Promise<readonly unknown[]>

interface EtagRoute {
  parts: EtagRouteParts
  options: EtagOptions
}

/**
 * Thrown by {@link FreshkeyEtagInterceptor} to answer `304 Not Modified` through Nest's own
 * response path (Express and Fastify alike). A catch-all exception filter of yours should let
 * it through, e.g. `if (exception instanceof NotModifiedException) return super.catch(...)`.
 */
export class NotModifiedException extends HttpException {
  constructor() {
    super('Not Modified', HttpStatus.NOT_MODIFIED)
  }
}

/**
 * Conditional GET for a route or controller: the ETag is computed from `parts(request)` before
 * the handler runs; a request whose `If-None-Match` names it gets `304 Not Modified` and the
 * handler does not run. Same as `@SetMetadata` + `@UseInterceptors(FreshkeyEtagInterceptor)`.
 *
 * @example
 * @Get(':id')
 * @Etag((req) => [dep.row('posts', req.params.id)])
 * findOne(@Param('id') id: string) { ... }
 */
export function Etag(parts: EtagRouteParts, options: EtagOptions = {}): MethodDecorator & ClassDecorator {
  const route: EtagRoute = { parts, options }
  return applyDecorators(SetMetadata(ETAG_METADATA, route), UseInterceptors(FreshkeyEtagInterceptor))
}

/**
 * The interceptor behind {@link Etag}; it acts only on routes with `@Etag(...)` metadata, so it
 * can also be registered globally (`APP_INTERCEPTOR`).
 */
export class FreshkeyEtagInterceptor implements NestInterceptor {
  readonly #fk: Freshkey
  readonly #reflector: Reflector

  constructor(fk: Freshkey, reflector: Reflector) {
    this.#fk = fk
    this.#reflector = reflector
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle()
    const route = this.#reflector.getAllAndOverride<EtagRoute | undefined>(ETAG_METADATA, [
      context.getHandler(),
      context.getClass(),
    ])
    if (!route) return next.handle()
    const http = context.switchToHttp()
    const request = http.getRequest()
    const response = http.getResponse()
    return from(conditionalGet(this.#fk, request, () => route.parts(request, context), route.options)).pipe(
      switchMap((result) => {
        if (result.kind === 'skip') return next.handle()
        // Express's res.header and Fastify's reply.header take the same arguments.
        response.header('ETag', result.etag)
        if (route.options.cacheControl !== undefined)
          response.header('Cache-Control', route.options.cacheControl)
        if (result.kind === 'fresh') throw new NotModifiedException()
        keepEtagOnSuccessOnly(response.raw ?? response, result.etag, route.options.cacheControl)
        return next.handle()
      }),
    )
  }
}

// Decorators applied as calls: this package is built without `experimentalDecorators`.
Injectable()(FreshkeyEtagInterceptor)
Inject(FRESHKEY)(FreshkeyEtagInterceptor, undefined, 0)
Inject(Reflector)(FreshkeyEtagInterceptor, undefined, 1)
