import { FreshkeyError } from '../errors.ts'

/** An adapter was used after `dispose()`. */
export class AdapterDisposedError extends FreshkeyError {
  constructor(adapter: string) {
    super('E_ADAPTER_DISPOSED', `this ${adapter} adapter was disposed`)
  }
}

/** An adapter's hooks do not fire: writes would not invalidate (`verify()` proves they do). */
export class AdapterInactiveError extends FreshkeyError {
  constructor(adapter: string, message: string) {
    super('E_ADAPTER_INACTIVE', `${adapter}: ${message}`)
  }
}

/** An adapter cannot work with this ORM setup (driver, version, missing metadata). */
export class AdapterSetupError extends FreshkeyError {
  constructor(adapter: string, message: string) {
    super('E_ADAPTER_SETUP', `${adapter}: ${message}`)
  }
}
