import { createHash, hash } from 'node:crypto'
import { InvalidKeyPartError } from './errors.ts'
import { rememberText } from './text-memo.ts'

/** SHA-256 of a string, base64url (43 chars). One-shot `crypto.hash` where Node has it (no Hash object per call). */
export const sha256: (text: string) => string =
  typeof hash === 'function'
    ? (text) => hash('sha256', text, 'base64url')
    : (text) => createHash('sha256').update(text).digest('base64url')

const MAX_SEGMENT = 64
const LONE_SURROGATE = /\p{Surrogate}/u

// Characters a plain segment may hold (`[A-Za-z0-9_.-]`): a table lookup is cheaper than a regex
// on the short strings every key is made of.
const PLAIN = new Uint8Array(128)
for (let c = 0; c < 128; c++) PLAIN[c] = /[\w.-]/.test(String.fromCharCode(c)) ? 1 : 0

function isPlain(text: string): boolean {
  const n = text.length
  if (n > MAX_SEGMENT) return false
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c > 127 || PLAIN[c] === 0) return false
  }
  return true
}

/**
 * Encodes one segment of a store key: separators (`:` `#` `%` `{` `}`) and control characters are
 * percent-escaped so segments never run together, and long segments become `#` + SHA-256 (the
 * escaped form never contains a bare `#`, so hashed and plain segments cannot collide).
 */
export function segment(text: string): string {
  return isPlain(text) ? text : escapedSegment(text)
}

const escapedSegment = rememberText(escapeSegment)

function escapeSegment(text: string): string {
  const escaped = text.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what we escape
    /[%:#{}\u0000-\u001f\u007f]|\p{Surrogate}/gu,
    (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  )
  return escaped.length > MAX_SEGMENT ? `#${sha256(escaped)}` : escaped
}

/** True when the string holds an unpaired surrogate (no surrogate at all: no pattern run). */
function loneSurrogate(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdfff) return LONE_SURROGATE.test(text)
  }
  return false
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/**
 * Canonical, injective text form of a plain value: strings are length-prefixed, object keys are
 * sorted (key order never matters) and `undefined` properties are dropped as JSON drops them.
 * Throws {@link InvalidKeyPartError} for what has no stable form.
 */
export function canonical(value: unknown, path = 'value', seen: object[] = []): string {
  switch (typeof value) {
    case 'string':
      return loneSurrogate(value) ? `S${JSON.stringify(value)}` : `s${value.length}:${value}`
    case 'number':
      if (Number.isNaN(value)) throw new InvalidKeyPartError(path, 'NaN has no stable key form')
      return `d${Object.is(value, -0) ? 0 : value}`
    case 'bigint':
      return `i${value}`
    case 'boolean':
      return value ? 't' : 'f'
    case 'undefined':
      throw new InvalidKeyPartError(path, 'undefined is not a key part (use null)')
    case 'function':
      throw new InvalidKeyPartError(path, 'a function is not a key part')
    case 'symbol':
      throw new InvalidKeyPartError(path, 'a symbol is not a key part')
  }
  if (value === null) return 'n'
  const obj = value as object
  if (seen.includes(obj)) throw new InvalidKeyPartError(path, 'circular reference')
  if (obj instanceof Date) {
    const t = obj.getTime()
    if (Number.isNaN(t)) throw new InvalidKeyPartError(path, 'invalid Date')
    return `D${t}`
  }
  seen.push(obj)
  try {
    if (Array.isArray(obj)) {
      const items: string[] = []
      for (let i = 0; i < obj.length; i++) items.push(canonical(obj[i], `${path}[${i}]`, seen))
      return `[${items.join(',')}]`
    }
    if ((obj as Record<symbol, unknown>)[Symbol.for('freshkey.dependency')] === true) {
      throw new InvalidKeyPartError(path, 'a dependency must be a top-level part')
    }
    if (!isPlainObject(obj)) {
      const name = (obj as { constructor?: { name?: string } }).constructor?.name ?? 'object'
      throw new InvalidKeyPartError(
        path,
        `an instance of ${name} is not a key part: no registered resolver knows it (install an ORM adapter or pass plain values)`,
      )
    }
    const rec = obj as Record<string, unknown>
    const keys = Object.keys(rec)
      .filter((k) => rec[k] !== undefined)
      .sort()
    return `{${keys.map((k) => `s${k.length}:${k}=${canonical(rec[k], `${path}.${k}`, seen)}`).join(',')}}`
  } finally {
    seen.pop()
  }
}

/**
 * Bounds the length of a key body built from {@link canonical}/{@link segment} parts (which never
 * start with `~`): a body over `max` characters becomes `~` + SHA-256 + a readable head.
 */
export function boundKey(body: string, max = 200): string {
  if (body.length <= max) return body
  return `~${sha256(body)}:${body.slice(0, 48)}`
}
