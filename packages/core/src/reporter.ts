import { emit, type FreshkeyStats } from './events.ts'

/** A pino-compatible logger (`logger.warn(obj, msg)`); `console` works too. */
export interface FreshkeyLogger {
  warn(obj: unknown, msg?: string): void
  error?(obj: unknown, msg?: string): void
  debug?(obj: unknown, msg?: string): void
}

/** How loudly a problem is told. */
export type Severity = 'warn' | 'error'

/**
 * The one place every swallowed problem goes: counted in `stats()`, published on `freshkey:error`,
 * and logged once per distinct problem (the same problem again is only counted), so a recurring
 * failure never floods the log but is never silent either.
 */
export class Reporter {
  readonly #namespace: string
  readonly #logger: FreshkeyLogger | false
  readonly #stats: FreshkeyStats
  readonly #told = new Set<string>()

  constructor(namespace: string, logger: FreshkeyLogger | false | undefined, stats: FreshkeyStats) {
    this.#namespace = namespace
    this.#logger = logger === undefined ? consoleLogger : logger
    this.#stats = stats
  }

  /** A store call failed (counted in `storeErrors`). */
  store(operation: string, error: unknown): void {
    this.#stats.storeErrors++
    this.#publish(operation, error, `store ${operation} failed`, 'warn')
  }

  /** An adapter swallowed an error so a database write would not fail (counted in `adapterErrors`). */
  adapter(operation: string, error: unknown): void {
    this.#stats.adapterErrors++
    this.#publish(
      operation,
      error,
      `adapter ${operation}: cache trouble, invalidating more widely instead`,
      'warn',
    )
  }

  /** Something freshkey cannot fix by itself and an operator must know (a bump that could not be written). */
  loud(operation: string, message: string, error?: unknown): void {
    this.#publish(operation, error ?? new Error(message), message, 'error', true)
  }

  /** A problem that is not an error of the store or an adapter (serialization, a loader timing out). */
  problem(operation: string, error: unknown, message: string): void {
    this.#publish(operation, error, message, 'warn')
  }

  #publish(operation: string, error: unknown, message: string, severity: Severity, always = false): void {
    emit('error', () => ({ namespace: this.#namespace, operation, error }))
    if (!this.#logger) return
    const code = (error as { code?: unknown } | undefined)?.code
    const id = `${operation}|${String(code ?? (error as Error | undefined)?.name ?? '')}|${message}`
    if (!always && this.#told.has(id)) return
    if (this.#told.size > 1000) this.#told.clear()
    this.#told.add(id)
    const log = severity === 'error' ? (this.#logger.error ?? this.#logger.warn) : this.#logger.warn
    try {
      log.call(
        this.#logger,
        { namespace: this.#namespace, operation, err: error },
        `[freshkey] ${message}: ${(error as Error | undefined)?.message ?? String(error)}`,
      )
    } catch {
      // A throwing logger must not break a read or a write.
    }
  }
}

const consoleLogger: FreshkeyLogger = {
  warn: (_obj, msg) => console.warn(msg),
  error: (_obj, msg) => console.error(msg),
}
