import { randomBytes } from 'node:crypto'

// A random per-process prefix plus a counter: unique across processes and restarts, never a
// counter that restarts at a value seen before (DESIGN rule 5), and cheap on the hot path.
const prefix = randomBytes(9).toString('base64url')
let counter = 0

/** A new random token. */
export function newToken(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER
  return `${prefix}${counter.toString(36)}`
}

/** A random nonce for a store to derive fresh tokens from (`nonce` + index). */
export function newNonce(): string {
  return randomBytes(12).toString('base64url')
}

/** A fenced token starts with `~`: a write is committing under it, so nothing may be stored under it. */
export function isFenced(token: string | null | undefined): boolean {
  return typeof token === 'string' && token.charCodeAt(0) === 126
}

/**
 * Fences stack: a fenced token is `~<n>~<token>`, n the commits still under way on the key (a
 * `~<token>` of an older writer counts as one). A lift takes one off; only the last one makes the
 * key storable again, so a quick commit's lift never ends the fence of a slower one.
 */
export function fencedToken(token: string, fences: number): string {
  return `~${fences}~${token}`
}

/** How many fences a token carries (0: not fenced) and the token without them (`~2~abc` → 2, `abc`). */
function parseFence(token: string): { fences: number; rest: string } {
  if (!isFenced(token)) return { fences: 0, rest: token }
  const m = /^~(\d+)~/.exec(token)
  const n = m ? Number(m[1]) : 0
  return n > 0 ? { fences: n, rest: token.slice(m![0].length) } : { fences: 1, rest: token.slice(1) }
}

/** How many fences a token carries (0: not fenced). */
export function fenceCount(token: string | null | undefined): number {
  return typeof token === 'string' ? parseFence(token).fences : 0
}

/** The token without its fences (`~2~abc` → `abc`). */
export function unfenced(token: string): string {
  return parseFence(token).rest
}

/**
 * The bump counter a token was written under (`…@<n>`), 0 for tokens created fresh by a read.
 * A dependency found during a load is stored only if its token's counter is not newer than the
 * counter read before the load.
 */
export function tokenSeq(token: string): number {
  const at = token.lastIndexOf('@')
  return at < 0 ? 0 : Number(token.slice(at + 1)) || 0
}
