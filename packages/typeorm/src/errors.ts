import { FreshkeyError } from '@freshkey/core'

/** The adapter's subscriber is not in `dataSource.subscribers`, so writes would go unseen. */
export class SubscriberInactiveError extends FreshkeyError {
  constructor(message: string) {
    super('E_TYPEORM_SUBSCRIBER_INACTIVE', message)
  }
}

/** The data source uses a driver the adapter cannot watch (MongoDB). */
export class UnsupportedDriverError extends FreshkeyError {
  /** The TypeORM driver type, e.g. `mongodb`. */
  readonly driver: string
  constructor(driver: string) {
    super('E_TYPEORM_UNSUPPORTED_DRIVER', `@freshkey/typeorm does not support the "${driver}" driver`)
    this.driver = driver
  }
}

/** The handle was used after `dispose()`. */
export class AdapterDisposedError extends FreshkeyError {
  constructor() {
    super('E_TYPEORM_DISPOSED', 'this freshkeyTypeORM handle was disposed')
  }
}
