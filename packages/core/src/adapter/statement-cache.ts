/**
 * What was worked out of statement texts, for the `size` most recently used ones: apps send the
 * same few statements again and again, and parsing one is the cost of a raw query.
 */
export class StatementCache<T> {
  readonly #entries = new Map<string, T>()
  readonly #size: number

  constructor(size = 500) {
    this.#size = size
  }

  /** The value of `sql`, computed the first time (and again once it fell out). */
  get(sql: string, compute: () => T): T {
    const value = this.#entries.get(sql) ?? compute()
    this.#entries.delete(sql)
    if (this.#entries.size >= this.#size) this.#entries.delete(this.#entries.keys().next().value as string)
    this.#entries.set(sql, value)
    return value
  }

  /** Forgets everything (what was worked out depends on the schema graph, which changed). */
  clear(): void {
    this.#entries.clear()
  }
}
