import { FreshkeyError } from '@freshkey/core'

/**
 * A write was committed but turning it into freshkey changes failed; a wider invalidation was
 * recorded instead. Passed to the `onError` option, never thrown at the caller of the write.
 */
export class CaptureError extends FreshkeyError {
  /** What was being captured, e.g. `flush`, `nativeUpdate`, `execute`. */
  readonly operation: string
  constructor(operation: string, message: string, options?: { cause?: unknown }) {
    super('E_MIKRO_ORM_CAPTURE', `${operation}: ${message}`, options)
    this.operation = operation
  }
}

/** `freshkeyMikroORM` was called with something that is not a MikroORM instance or a freshkey instance. */
export class RegistrationError extends FreshkeyError {
  constructor(message: string) {
    super('E_MIKRO_ORM_REGISTRATION', message)
  }
}
