/**
 * Whether an `If-None-Match` request header names `etag`, by the weak comparison RFC 9110 asks for
 * (`W/"x"` and `"x"` match). `*` is not taken as a match: whether the resource exists is known only
 * after the handler ran, so the request goes on.
 */
export function ifNoneMatchHits(header: string | readonly string[] | undefined, etag: string): boolean {
  if (header === undefined || header.length === 0) return false
  const wanted = opaqueTag(etag)
  const list = typeof header === 'string' ? header : header.join(',')
  for (const candidate of list.split(',')) {
    if (opaqueTag(candidate.trim()) === wanted) return true
  }
  return false
}

function opaqueTag(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag
}
