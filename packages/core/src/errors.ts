/** Base class of every error freshkey throws. `code` is stable across releases. */
export class FreshkeyError extends Error {
  /** Stable machine-readable code, e.g. `E_INVALID_KEY_PART`. */
  readonly code: string
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** A dependency was malformed: empty table name, missing primary key, bad Alkey string. */
export class InvalidDependencyError extends FreshkeyError {
  constructor(message: string) {
    super('E_INVALID_DEPENDENCY', message)
  }
}

/** A key part cannot be canonicalized (undefined, function, symbol, NaN, circular, unknown class). */
export class InvalidKeyPartError extends FreshkeyError {
  /** Path of the offending value inside the part, e.g. `parts[1].tags[0]`. */
  readonly path: string
  constructor(path: string, message: string) {
    super('E_INVALID_KEY_PART', `${path}: ${message}`)
    this.path = path
  }
}

/** A `dep.scope` names a table with no matching declared field list. */
export class UnknownScopeError extends FreshkeyError {
  /** The field lists declared for the table (empty when none). */
  readonly declared: readonly (readonly string[])[]
  constructor(table: string, fields: readonly string[], declared: readonly (readonly string[])[]) {
    const known = declared.length ? declared.map((d) => `[${d.join(', ')}]`).join(', ') : 'none'
    super(
      'E_UNKNOWN_SCOPE',
      `no scope of "${table}" has exactly the fields [${fields.join(', ')}]; declared: ${known}`,
    )
    this.declared = declared
  }
}

/** The store could not be reached or answered with an error. `cause` holds the driver error. */
export class StoreUnavailableError extends FreshkeyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_STORE_UNAVAILABLE', message, options)
  }
}

/** `peek()` or `get(..., { require: true })` found no fresh cached value. */
export class NotCachedError extends FreshkeyError {
  /** The cache key that was looked up. */
  readonly key: string
  constructor(key: string) {
    super('E_NOT_CACHED', `no fresh cached value for ${key}`)
    this.key = key
  }
}

/** A value cannot be serialized (function, symbol, circular reference, ...). */
export class SerializationError extends FreshkeyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_SERIALIZATION', message, options)
  }
}

/** A transaction was used after commit/rollback, or committed out of order. */
export class TransactionStateError extends FreshkeyError {
  constructor(message: string) {
    super('E_TRANSACTION_STATE', message)
  }
}

/** Invalid options passed to a freshkey factory or method. */
export class ConfigError extends FreshkeyError {
  constructor(message: string) {
    super('E_CONFIG', message)
  }
}

/** A loader took longer than the call's `timeout`. Its signal was aborted; waiting callers load themselves. */
export class LoaderTimeoutError extends FreshkeyError {
  /** The cache key whose loader timed out. */
  readonly key: string
  /** timeoutMs: milliseconds waited. */
  readonly timeoutMs: number
  constructor(key: string, timeoutMs: number) {
    super('E_LOADER_TIMEOUT', `the loader of ${key} did not settle within ${timeoutMs} ms`)
    this.key = key
    this.timeoutMs = timeoutMs
  }
}
