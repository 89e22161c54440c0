import { canonical } from './encoding.ts'

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/

/** Canonical decimal text of a numeric string, or undefined when the text is not a number. */
export function canonicalDecimal(text: string): string | undefined {
  const m = DECIMAL.exec(text)
  if (!m) return undefined
  const [, sign = '', int = '', frac = '', exp] = m
  if (int === '' && frac === '') return undefined
  let digits = int + frac
  let point = int.length + (exp === undefined ? 0 : Number(exp))
  if (!Number.isSafeInteger(point) || Math.abs(point) > 400) return undefined
  if (point < 0) {
    digits = '0'.repeat(-point) + digits
    point = 0
  } else if (point > digits.length) {
    digits = digits + '0'.repeat(point - digits.length)
  }
  const whole = digits.slice(0, point).replace(/^0+/, '') || '0'
  const fraction = digits.slice(point).replace(/0+$/, '')
  const body = fraction ? `${whole}.${fraction}` : whole
  return body === '0' ? '0' : `${sign === '-' ? '-' : ''}${body}`
}

/**
 * Normalizes a column value so equal values give equal scope conditions:
 * - `null` and `undefined` → null;
 * - numbers, bigints, numeric strings and booleans (as 1/0) → their canonical decimal form, so
 *   `1`, `1n`, `'1'`, `'1.0'` and `true` meet (drivers return bigint and numeric columns as strings,
 *   SQLite returns booleans as 1/0);
 * - `Date` → its instant in milliseconds (meets the same number);
 * - other strings → themselves; other values → their canonical JSON-like form.
 * Merging values only costs a needless miss; splitting equal values would be a stale list.
 */
export function scopeValue(value: unknown): string {
  if (value === null || value === undefined) return 'n'
  switch (typeof value) {
    case 'boolean':
      return value ? 'd1' : 'd0'
    case 'bigint':
      return `d${value.toString()}`
    case 'number':
      if (Number.isNaN(value)) return 'dNaN'
      if (!Number.isFinite(value)) return `d${value}`
      return `d${canonicalDecimal(String(value)) ?? String(value)}`
    case 'string': {
      const d = canonicalDecimal(value)
      return d === undefined ? `s${value}` : `d${d}`
    }
  }
  if (value instanceof Date) return `d${value.getTime()}`
  return `j${canonical(value)}`
}
