import type { FreshkeyOptions, Store } from '@freshkey/core'
import type { DynamicModule, FactoryProvider, ForwardReference, Type } from '@nestjs/common'

/** A TypeORM `DataSource` (the one `@nestjs/typeorm` provides), as far as this module sees it. */
export interface TypeOrmDataSourceLike {
  readonly options: { readonly type: unknown }
}

/** A MikroORM instance (`MikroORM` from `@mikro-orm/nestjs` or `MikroORM.init`), as far as this module sees it. */
export interface MikroOrmLike {
  readonly em: object
  readonly config: object
}

/** Options of {@link FreshkeyModule.forRoot}, or what the factory of `forRootAsync` returns. */
export interface FreshkeyModuleOptions extends Omit<FreshkeyOptions, 'store'> {
  /**
   * Where tokens and values live. A `Store` (e.g. `redisStore(client)`) stays yours: it is not
   * closed with the module. A factory (`() => redisStore(url)`) is called once and its store is
   * closed when the module is destroyed. Default: a `memoryStore()`, closed likewise.
   */
  store?: Store | (() => Store | Promise<Store>)
  /** Close the store on module destroy. Default: only when the module created it (see `store`). */
  closeStore?: boolean
  /**
   * TypeORM data source(s) to attach with `freshkeyTypeORM(dataSource, fk)` from
   * `@freshkey/typeorm` (install it); detached when the module is destroyed.
   */
  typeorm?: TypeOrmDataSourceLike | readonly TypeOrmDataSourceLike[]
  /**
   * A MikroORM instance to attach with `freshkeyMikroORM(orm, fk)` from `@freshkey/mikro-orm`
   * (install it); detached when the module is destroyed.
   */
  mikroOrm?: MikroOrmLike
}

/** Options of {@link FreshkeyModule.forRootAsync}. */
export interface FreshkeyModuleAsyncOptions {
  /** Modules whose providers `inject` names (e.g. `TypeOrmModule`, `ConfigModule`). */
  imports?: (Type<unknown> | DynamicModule | Promise<DynamicModule> | ForwardReference)[]
  /** Providers passed to `useFactory`, in order (e.g. `DataSource`, `ConfigService`). */
  inject?: FactoryProvider['inject']
  /** Returns the module options; may be async. */
  useFactory: (...args: any[]) => FreshkeyModuleOptions | Promise<FreshkeyModuleOptions>
  /** Register the module globally, so `@InjectFreshkey()` and `@Cached()` work in every module. Default `true`. */
  isGlobal?: boolean
}

/** {@link FreshkeyModuleOptions} plus where the module is visible. */
export interface FreshkeyModuleRootOptions extends FreshkeyModuleOptions {
  /** Register the module globally, so `@InjectFreshkey()` and `@Cached()` work in every module. Default `true`. */
  isGlobal?: boolean
}
