import { ConfigError } from '@freshkey/core'
import type { DynamicModule, Provider } from '@nestjs/common'
import { FreshkeyEtagInterceptor } from './etag.ts'
import { FreshkeyInstance } from './instance.ts'
import type {
  FreshkeyModuleAsyncOptions,
  FreshkeyModuleOptions,
  FreshkeyModuleRootOptions,
} from './options.ts'
import { FRESHKEY, FRESHKEY_MODULE_OPTIONS } from './tokens.ts'

/**
 * Provides one `Freshkey` instance to a Nest app: `@InjectFreshkey()`, `@Cached()` methods and
 * `@Etag()` routes use it. Global by default. On module destroy it detaches the ORMs it
 * attached, closes the instance, and closes the store if it created it.
 */
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest module is a class; forRoot/forRootAsync are Nest's convention.
export class FreshkeyModule {
  /** Registers the module with options known up front. */
  static forRoot(options: FreshkeyModuleRootOptions): DynamicModule {
    if (options === null || typeof options !== 'object') {
      throw new ConfigError('FreshkeyModule.forRoot needs options: { namespace, store?, ... }')
    }
    return FreshkeyModule.#module(options.isGlobal, [], {
      provide: FRESHKEY_MODULE_OPTIONS,
      useValue: options,
    })
  }

  /**
   * Registers the module with options from other providers, e.g. a TypeORM data source:
   * `forRootAsync({ inject: [DataSource], useFactory: (ds) => ({ namespace: 'app', typeorm: ds }) })`.
   */
  static forRootAsync(options: FreshkeyModuleAsyncOptions): DynamicModule {
    if (typeof options?.useFactory !== 'function') {
      throw new ConfigError('FreshkeyModule.forRootAsync needs { useFactory, inject?, imports? }')
    }
    return FreshkeyModule.#module(options.isGlobal, options.imports ?? [], {
      provide: FRESHKEY_MODULE_OPTIONS,
      useFactory: options.useFactory,
      inject: options.inject ?? [],
    })
  }

  static #module(
    isGlobal: boolean | undefined,
    imports: NonNullable<DynamicModule['imports']>,
    optionsProvider: Provider,
  ): DynamicModule {
    return {
      module: FreshkeyModule,
      global: isGlobal ?? true,
      imports,
      providers: [
        optionsProvider,
        {
          provide: FreshkeyInstance,
          useFactory: (options: FreshkeyModuleOptions) => FreshkeyInstance.create(options),
          inject: [FRESHKEY_MODULE_OPTIONS],
        },
        {
          provide: FRESHKEY,
          useFactory: (instance: FreshkeyInstance) => instance.fk,
          inject: [FreshkeyInstance],
        },
        FreshkeyEtagInterceptor,
      ],
      exports: [FRESHKEY, FreshkeyEtagInterceptor],
    }
  }
}
