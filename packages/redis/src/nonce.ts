import { randomBytes } from 'node:crypto'

// Fresh tokens are `nonce .. ':' .. index`: one random nonce per store call. Nonces come from a
// pool of random bytes so the hot path does not pay a randomBytes call each time. A nonce never
// contains ':' (base64url), so `nonce:index` is unambiguous.
const SIZE = 12
const BATCH = 512
let pool = randomBytes(SIZE * BATCH)
let at = 0

/** A random nonce (16 base64url characters, 96 random bits). */
export function nonce(): string {
  if (at === BATCH) {
    pool = randomBytes(SIZE * BATCH)
    at = 0
  }
  const n = pool.toString('base64url', at * SIZE, (at + 1) * SIZE)
  at++
  return n
}
