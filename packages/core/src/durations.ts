import { ConfigError } from './errors.ts'

/**
 * A duration: seconds as a number (`60`), or a string with a unit: `'250ms'`, `'30s'`, `'5m'`,
 * `'1h'`, `'7d'`. Numbers that look like milliseconds (`60000`) are refused: write `'60s'`.
 */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 }
const TEXT = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/

/**
 * Seconds of a {@link Duration}. Throws `ConfigError` for anything else, and for a bare number that
 * is a whole multiple of 1000 (≥ 1000): cache libraries that count in milliseconds make `60_000`
 * a common mistake that would silently mean 16.7 hours here.
 */
export function seconds(value: unknown, name: string, options: { allowZero?: boolean } = {}): number {
  let s: number
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 1000 && value % 1000 === 0) {
      throw new ConfigError(
        `\`${name}: ${value}\` is ambiguous: numbers are seconds (${value} s = ${(value / 3600).toFixed(1)} h). ` +
          `Write '${value / 1000}s' if you meant milliseconds, or '${value}s' if you really meant ${value} seconds`,
      )
    }
    s = value
  } else if (typeof value === 'string') {
    const m = TEXT.exec(value)
    if (!m)
      throw new ConfigError(
        `\`${name}\` must be seconds or a string like '250ms', '30s', '5m', '1h', '7d'; got '${value}'`,
      )
    s = Number(m[1]) * UNITS[m[2]!]!
  } else {
    throw new ConfigError(`\`${name}\` must be seconds or a string like '30s', '5m'; got ${describe(value)}`)
  }
  if (!Number.isFinite(s) || s < 0 || (s === 0 && !options.allowZero)) {
    throw new ConfigError(`\`${name}\` must be a positive duration; got ${String(value)}`)
  }
  return s
}

/** Milliseconds of a {@link Duration}. */
export function milliseconds(value: unknown, name: string, options: { allowZero?: boolean } = {}): number {
  return seconds(value, name, options) * 1000
}

/** A positive integer option (attempts, sizes). */
export function count(value: unknown, name: string, min = 1): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new ConfigError(`\`${name}\` must be an integer ≥ ${min}; got ${describe(value)}`)
  }
  return value
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (typeof value === 'string') return `'${value}'`
  return Array.isArray(value) ? 'an array' : typeof value
}
