import type { Freshkey } from '@freshkey/core'

/** What the ETag helpers need of a freshkey instance. */
export type EtagSource = Pick<Freshkey, 'keyFor'>

/** The key parts of one request: dependencies, entities, plain values, as for `fk.keyFor(...parts)`. */
export type EtagParts<Req> = (request: Req) => readonly unknown[] | Promise<readonly unknown[]>

/** Options of {@link freshkeyEtag}, {@link freshkeyEtagHook} and {@link freshkeyEtagPlugin}. */
export interface EtagOptions {
  /**
   * `Cache-Control` sent with the ETag (on the full response and on its 304), e.g.
   * `'private, no-cache'` so that every use revalidates. Default: the header is left alone.
   */
  cacheControl?: string
  /**
   * Receives a store failure that kept the ETag from being computed; the request then goes on
   * without one (cache trouble never fails a read). Default: ignored, it is already counted in
   * `fk.stats().storeErrors` and published on `freshkey:error`.
   */
  onStoreError?: (error: unknown) => void
}
