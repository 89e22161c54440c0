/** Injection token of the module's `Freshkey` instance; `@InjectFreshkey()` is `@Inject(FRESHKEY)`. */
export const FRESHKEY: unique symbol = Symbol.for('@freshkey/nestjs:Freshkey')

/** Injection token of the resolved {@link FreshkeyModuleOptions}. */
export const FRESHKEY_MODULE_OPTIONS: unique symbol = Symbol.for('@freshkey/nestjs:FreshkeyModuleOptions')

/** Where Nest puts the module's instance on objects whose methods are `@Cached()`. */
export const CACHED_FRESHKEY: unique symbol = Symbol.for('@freshkey/nestjs:cachedFreshkey')

/** Route metadata key of `@Etag(...)`. */
export const ETAG_METADATA: unique symbol = Symbol.for('@freshkey/nestjs:etag')
