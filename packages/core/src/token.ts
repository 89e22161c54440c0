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
 * Fences stack: a fenced token is `~<d1>.<d2>…~<token>`, one deadline (epoch ms) per commit still
 * under way on the key, increasing (the newest last) and unique, so a deadline names its fence. A fence ends at its deadline or when its own commit lifts
 * it, whichever comes first; the key is storable again once none is left. Deadlines rather than a
 * count, so a fence never lifted (a slow or crashed writer) ends on time instead of keeping the key
 * fenced while later commits come and go.
 */
export function fencedToken(token: string, deadlines: readonly number[]): string {
  return `~${deadlines.join('.')}~${token}`
}

/** Fences are at most this many per key: more (a malformed older form) count as this many. */
const maxFences = 64

/**
 * The live fences of a token (deadlines after `now`, oldest first; none: not fenced) and the
 * token without them. Older forms, `~<token>` and `~<n>~<token>`, count as 1 and n fences lasting
 * until `until` (the key's expiry).
 */
export function parseFences(
  token: string,
  now: number,
  until: number,
): { deadlines: number[]; rest: string } {
  if (!isFenced(token)) return { deadlines: [], rest: token }
  const m = /^~([\d.]+)~/.exec(token)
  if (!m) return { deadlines: [until], rest: token.slice(1) }
  const deadlines: number[] = []
  for (const part of m[1]!.split('.')) {
    const d = Number(part)
    if (!(d >= 0)) continue
    if (d < 1e12) for (let i = 0; i < Math.min(d, maxFences); i++) deadlines.push(until)
    else if (d > now) deadlines.push(d)
  }
  return { deadlines, rest: token.slice(m[0].length) }
}

/** The fence a fenced bump added, as its caller lifts it: the last deadline of the token it returned. */
export function ownFence(token: string | null | undefined): number | undefined {
  if (typeof token !== 'string' || token.charCodeAt(0) !== 126) return undefined
  // `~<d1>.<d2>…~`: the digits after the last `.` before the second `~` (a scan, not a regex: a
  // store calls this for every key of every lift).
  let start = 1
  for (let i = 1; i < token.length; i++) {
    const c = token.charCodeAt(i)
    if (c === 126) {
      if (i === start) return undefined
      const d = Number(token.slice(start, i))
      return d >= 1e12 ? d : undefined
    }
    if (c === 46) start = i + 1
    else if (c < 48 || c > 57) return undefined
  }
  return undefined
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
