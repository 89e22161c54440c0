import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { ConfigError } from '@freshkey/core'
import { etagOf } from '@freshkey/core/etag'
import { ifNoneMatchHits } from './if-none-match.ts'
import type { EtagOptions, EtagSource } from './options.ts'

/** What the conditional-GET step decided for one request. */
export type Conditional =
  | { readonly kind: 'skip' }
  | { readonly kind: 'fresh'; readonly etag: string }
  | { readonly kind: 'stale'; readonly etag: string }

/** The request fields conditional GET reads. */
export interface ConditionalRequest {
  readonly method?: string | undefined
  readonly headers: IncomingHttpHeaders
}

/**
 * The conditional-GET decision for one request, for frameworks without a helper here: the ETag of
 * `parts()` for a GET or HEAD (tokens are read before the handler runs, so a write racing the
 * handler can only make the tag older than the body, never newer) and whether the request's
 * `If-None-Match` names it. Other methods, and store failures: `skip`.
 */
export async function conditionalGet(
  fk: EtagSource,
  request: ConditionalRequest,
  parts: () => readonly unknown[] | Promise<readonly unknown[]>,
  options: EtagOptions = {},
): Promise<Conditional> {
  if (request.method !== 'GET' && request.method !== 'HEAD') return { kind: 'skip' }
  let key: string
  try {
    key = await fk.keyFor(...(await parts()))
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code !== 'E_STORE_UNAVAILABLE') throw error
    options.onStoreError?.(error)
    return { kind: 'skip' }
  }
  const etag = etagOf(key)
  return ifNoneMatchHits(request.headers['if-none-match'], etag)
    ? { kind: 'fresh', etag }
    : { kind: 'stale', etag }
}

export function checkArguments(fk: unknown, parts: unknown, caller: string): void {
  if (typeof (fk as EtagSource | null)?.keyFor !== 'function') {
    throw new ConfigError(`${caller} needs a freshkey instance (createFreshkey(...)) as its first argument`)
  }
  if (typeof parts !== 'function') {
    throw new ConfigError(`${caller} needs a function (request) => key parts as its second argument`)
  }
}

/**
 * Drops the ETag (and the Cache-Control set with it) if the handler answers with anything but a
 * 2xx: a client must not revalidate an error page into a 304 of the real resource later.
 */
export function keepEtagOnSuccessOnly(
  res: ServerResponse,
  etag: string,
  cacheControl: string | undefined,
): void {
  const writeHead = res.writeHead
  res.writeHead = function (this: ServerResponse, statusCode: number, ...rest: unknown[]) {
    if (statusCode < 200 || statusCode >= 300) {
      const ours = (name: string, value: unknown) =>
        (name === 'etag' && value === etag) || (name === 'cache-control' && value === cacheControl)
      for (const name of ['etag', 'cache-control'])
        if (ours(name, this.getHeader(name))) this.removeHeader(name)
      for (const arg of rest) if (arg && typeof arg === 'object') dropHeaders(arg, ours)
    }
    return (writeHead as (...args: unknown[]) => ServerResponse).call(this, statusCode, ...rest)
  } as ServerResponse['writeHead']
}

function dropHeaders(headers: object, drop: (name: string, value: unknown) => boolean): void {
  if (Array.isArray(headers)) {
    for (let i = headers.length - 2; i >= 0; i -= 2) {
      if (drop(String(headers[i]).toLowerCase(), headers[i + 1])) headers.splice(i, 2)
    }
    return
  }
  for (const [key, value] of Object.entries(headers)) {
    if (drop(key.toLowerCase(), value)) delete (headers as OutgoingHttpHeaders)[key]
  }
}
