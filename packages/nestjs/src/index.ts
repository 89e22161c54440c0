export type { CachedMethodOptions } from './cached.ts'
export { Cached } from './cached.ts'
export { NotInjectedError } from './errors.ts'
export type { EtagRouteParts } from './etag.ts'
export { Etag, FreshkeyEtagInterceptor, NotModifiedException } from './etag.ts'
export { FreshkeyModule } from './freshkey-module.ts'
export { InjectFreshkey } from './inject-freshkey.ts'
export type {
  FreshkeyModuleAsyncOptions,
  FreshkeyModuleOptions,
  FreshkeyModuleRootOptions,
  MikroOrmLike,
  TypeOrmDataSourceLike,
} from './options.ts'
export { FRESHKEY, FRESHKEY_MODULE_OPTIONS } from './tokens.ts'
