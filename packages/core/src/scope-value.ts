import { canonical } from './encoding.ts'
import { InvalidKeyPartError } from './errors.ts'
import { rememberText } from './text-memo.ts'

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i
const INFINITY = /^([+-]?)inf(?:inity)?$/i
const NAN = /^nan$/i
// Only strings that carry their zone: a local-time reading would differ between processes in different time zones.
const ZONED_TIME = /^\d{4}-\d{2}-\d{2}[t ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}(?::?\d{2})?)$/i
const MAX_PLAIN_EXPONENT = 400n

/**
 * Canonical decimal text of a numeric string (`'010.50'` → `'10.5'`, `'1e3'` → `'1000'`,
 * `'-0'` → `'0'`), or undefined when the text is not a number. Surrounding whitespace is ignored.
 */
export function canonicalDecimal(text: string): string | undefined {
  const m = DECIMAL.exec(text.trim())
  if (!m) return undefined
  const [, sign, int = '', frac = '', exp = '0'] = m
  if (int === '' && frac === '') return undefined
  const all = int + frac
  const lead = all.search(/[1-9]/)
  if (lead < 0) return '0'
  const digits = all.slice(lead).replace(/0+$/, '')
  // The value is 0.<digits> × 10^point.
  const point = BigInt(int.length - lead) + BigInt(exp)
  const neg = sign === '-' ? '-' : ''
  if (point > MAX_PLAIN_EXPONENT || point < -MAX_PLAIN_EXPONENT) return `${neg}0.${digits}e${point}`
  const p = Number(point)
  if (p <= 0) return `${neg}0.${'0'.repeat(-p)}${digits}`
  if (p >= digits.length) return neg + digits + '0'.repeat(p - digits.length)
  return `${neg}${digits.slice(0, p)}.${digits.slice(p)}`
}

/** {@link normalString}, remembered: the same few values (a category, a status) recur on every write. */
const fromString = rememberText(normalString)

function normalString(text: string): string {
  const d = canonicalDecimal(text)
  if (d !== undefined) return `d${d}`
  const trimmed = text.trim()
  const inf = INFINITY.exec(trimmed)
  if (inf) return inf[1] === '-' ? 'd-Infinity' : 'dInfinity'
  if (NAN.test(trimmed)) return 'dNaN'
  if (ZONED_TIME.test(trimmed)) {
    const t = Date.parse(trimmed)
    if (!Number.isNaN(t)) return `d${t}`
  }
  // Collations that ignore case, accents or trailing spaces (MySQL's default, SQL Server's) match
  // 'News' to 'news ': fold them together rather than risk a stale list.
  return `s${text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toUpperCase()
    .toLowerCase()
    .trimEnd()}`
}

/**
 * Normalizes a column value so equal values give equal scope conditions. Never throws: it also runs
 * while a write is recorded, and cache trouble must never fail a database write.
 * - `null` and `undefined` → null;
 * - numbers, bigints, numeric strings and booleans (as 1/0) → their canonical decimal form, so
 *   `1`, `1n`, `'1'`, `'1.0'` and `true` meet (drivers return bigint and numeric columns as strings,
 *   SQLite and MySQL return booleans as 1/0); `'NaN'`/`'Infinity'` strings meet the numbers;
 * - `Date` → its instant in milliseconds (meets the same number), and so do ISO-8601 strings with
 *   an explicit zone (`Z`, `+02:00`); strings without a zone stay text;
 * - byte arrays (`Buffer`, `Uint8Array`) → their bytes; other class instances with their own
 *   `toString` (Decimal, ObjectId) → that string, normalized as above;
 * - other strings → folded as lenient collations compare them: case, accents and trailing spaces
 *   ignored (`'Café '` meets `'cafe'`); plain objects and arrays → their canonical form; anything
 *   else → one shared "opaque" value.
 * Merging values only costs a needless miss; splitting equal values would be a stale list.
 */
export function scopeValue(value: unknown): string {
  if (value === null || value === undefined) return 'n'
  switch (typeof value) {
    case 'boolean':
      return value ? 'd1' : 'd0'
    case 'bigint':
      return `d${canonicalDecimal(value.toString())}`
    case 'number':
      if (!Number.isFinite(value)) return `d${value}`
      return `d${canonicalDecimal(String(value))}`
    case 'string':
      return fromString(value)
    case 'object':
      break
    default:
      return 'j?'
  }
  if (value instanceof Date) return `d${value.getTime()}`
  if (ArrayBuffer.isView(value))
    return `x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`
  try {
    const proto = Object.getPrototypeOf(value)
    if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) {
      const toText = (value as { toString?: unknown }).toString
      if (typeof toText === 'function' && toText !== Object.prototype.toString)
        return fromString(String(value))
    }
    return `j${canonical(value)}`
  } catch {
    return 'j?'
  }
}

/**
 * Injective text of a `where`'s raw values, for cache keys (DESIGN rule 7): values that only
 * normalize alike (`'1'` and `'1.0'` in a text column) share scope conditions, never a cached value.
 * Throws {@link InvalidKeyPartError} for a value with no stable form.
 */
export function whereKey(where: Readonly<Record<string, unknown>>): string {
  const fields = Object.keys(where).sort()
  return `{${fields.map((f) => `s${f.length}:${f}=${rawPart(where[f], `where.${f}`)}`).join(',')}}`
}

function rawPart(value: unknown, path: string): string {
  if (value === undefined) return 'u'
  if (Array.isArray(value)) return `[${value.map((v, i) => rawPart(v, `${path}[${i}]`)).join(',')}]`
  if (ArrayBuffer.isView(value))
    return `x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`
  if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
    const proto = Object.getPrototypeOf(value)
    const toText = (value as { toString?: unknown }).toString
    if (
      proto !== Object.prototype &&
      proto !== null &&
      typeof toText === 'function' &&
      toText !== Object.prototype.toString
    ) {
      // Decimal, ObjectId...: their class and text tell them apart.
      const name = (value as { constructor?: { name?: string } }).constructor?.name ?? ''
      let text: string
      try {
        text = String(value)
      } catch (error) {
        throw new InvalidKeyPartError(path, `toString() threw: ${(error as Error)?.message ?? error}`)
      }
      return `c${name.length}:${name}${text.length}:${text}`
    }
  }
  return canonical(value, path)
}
