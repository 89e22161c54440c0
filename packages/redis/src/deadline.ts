import { StoreUnavailableError } from '@freshkey/core'

/** Wraps a driver failure into the store's error. */
export function unavailable(operation: string, error: unknown): StoreUnavailableError {
  if (error instanceof StoreUnavailableError) return error
  return new StoreUnavailableError(`redis ${operation} failed: ${(error as Error)?.message ?? error}`, {
    cause: error,
  })
}

/**
 * Time limits for store calls. A client we created has ioredis `commandTimeout`; a caller's client
 * may not, so its calls are watched by one shared timer instead of a timer per call.
 */
export class Deadlines {
  readonly #timeout: number
  readonly #watch: boolean
  readonly #pending = new Set<{ deadline: number; reject: (error: unknown) => void }>()
  #timer: NodeJS.Timeout | undefined

  constructor(timeout: number, watch: boolean) {
    this.#timeout = timeout
    this.#watch = watch
  }

  run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (!this.#watch) return fn().catch((error) => Promise.reject(unavailable(operation, error)))
    return new Promise<T>((resolve, reject) => {
      const slot = { deadline: Date.now() + this.#timeout, reject }
      this.#pending.add(slot)
      this.#start()
      fn().then(
        (value) => {
          this.#pending.delete(slot)
          resolve(value)
        },
        (error) => {
          this.#pending.delete(slot)
          reject(unavailable(operation, error))
        },
      )
    })
  }

  #start(): void {
    if (this.#timer) return
    this.#timer = setInterval(
      () => {
        const now = Date.now()
        for (const slot of this.#pending) {
          if (slot.deadline > now) continue
          this.#pending.delete(slot)
          slot.reject(unavailable('call', new Error(`timed out after ${this.#timeout} ms`)))
        }
        if (this.#pending.size === 0) this.stop()
      },
      Math.max(10, Math.floor(this.#timeout / 4)),
    )
    this.#timer.unref()
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = undefined
  }
}
