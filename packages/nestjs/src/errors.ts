import { FreshkeyError } from '@freshkey/core'

/**
 * A `@Cached()` method ran on an object Nest did not create (e.g. `new Service()`), so no
 * freshkey instance was injected into it. Create it through Nest, with `FreshkeyModule` imported.
 */
export class NotInjectedError extends FreshkeyError {
  /** `Class.method` of the decorated method. */
  readonly method: string
  constructor(method: string) {
    super(
      'E_NOT_INJECTED',
      `@Cached() ${method}: no freshkey instance on this object; let Nest create it (as a provider or controller) in an app that imports FreshkeyModule`,
    )
    this.method = method
  }
}
