import type { StoredEntry } from '@freshkey/core/adapter'

// An entry is one string: `F<freshUntil>\n<generation>\n<storedAt>\n<n>\n<m>\n`, then the n token
// keys, the n tokens and the m fences, one per line, then the payload (times in epoch ms). Keys are
// stored without the store prefix. The write script splices the tokens in (some are only known inside the script), so
// the client sends the part before them (`head`) and the part after them (`tail`).

/** The part of an entry before its tokens. */
export function entryHead(
  freshUntil: number,
  generation: string,
  keys: readonly string[],
  fences: number,
  storedAt = Date.now(),
): string {
  let head = `F${freshUntil}\n${generation}\n${storedAt}\n${keys.length}\n${fences}\n`
  for (const k of keys) head += `${k}\n`
  return head
}

/** The part of an entry after its tokens. */
export function entryTail(fences: readonly string[], payload: string): string {
  let tail = ''
  for (const f of fences) tail += `${f}\n`
  return tail + payload
}

/** A whole entry (tests and tools). */
export function encodeEntry(e: StoredEntry): string {
  let tokens = ''
  for (const t of e.tokens) tokens += `${t}\n`
  return (
    entryHead(e.freshUntil, e.generation, e.keys, e.fences.length) + tokens + entryTail(e.fences, e.payload)
  )
}

/** Decodes an entry; undefined when the text is not one (another layout, a raw value). */
export function decodeEntry(raw: string): StoredEntry | undefined {
  if (raw.charCodeAt(0) !== 70) return undefined
  let e = raw.indexOf('\n', 1)
  if (e < 0) return undefined
  const freshUntil = Number(raw.slice(1, e))
  let p = e + 1
  e = raw.indexOf('\n', p)
  if (e < 0) return undefined
  const generation = raw.slice(p, e)
  p = e + 1
  e = raw.indexOf('\n', p)
  if (e < 0) return undefined
  p = e + 1
  e = raw.indexOf('\n', p)
  if (e < 0) return undefined
  const n = Number(raw.slice(p, e))
  p = e + 1
  e = raw.indexOf('\n', p)
  if (e < 0) return undefined
  const m = Number(raw.slice(p, e))
  p = e + 1
  if (!(n >= 0 && m >= 0)) return undefined
  const keys: string[] = new Array(n)
  const tokens: string[] = new Array(n)
  const fences: string[] = new Array(m)
  for (let i = 0; i < n; i++) {
    e = raw.indexOf('\n', p)
    if (e < 0) return undefined
    keys[i] = raw.slice(p, e)
    p = e + 1
  }
  for (let i = 0; i < n; i++) {
    e = raw.indexOf('\n', p)
    if (e < 0) return undefined
    tokens[i] = raw.slice(p, e)
    p = e + 1
  }
  for (let i = 0; i < m; i++) {
    e = raw.indexOf('\n', p)
    if (e < 0) return undefined
    fences[i] = raw.slice(p, e)
    p = e + 1
  }
  return { keys, tokens, fences, freshUntil, generation, payload: raw.slice(p) }
}

/** When an entry was stored (epoch ms), for tools: not part of the store contract. */
export function entryStoredAt(raw: string): number | undefined {
  if (raw.charCodeAt(0) !== 70) return undefined
  const a = raw.indexOf('\n', 1)
  const b = raw.indexOf('\n', a + 1)
  const c = raw.indexOf('\n', b + 1)
  if (a < 0 || b < 0 || c < 0) return undefined
  const at = Number(raw.slice(b + 1, c))
  return Number.isFinite(at) ? at : undefined
}
