import { ConfigError, createFreshkey, type Freshkey, memoryStore, type Store } from '@freshkey/core'
import type { OnModuleDestroy } from '@nestjs/common'
import type { FreshkeyModuleOptions } from './options.ts'

interface Detachable {
  dispose(): void
}

/** The module's freshkey instance and what it must undo on destroy. */
export class FreshkeyInstance implements OnModuleDestroy {
  readonly fk: Freshkey
  readonly #store: Store
  readonly #closeStore: boolean
  readonly #attached: Detachable[] = []
  #destroyed = false

  constructor(fk: Freshkey, store: Store, closeStore: boolean) {
    this.fk = fk
    this.#store = store
    this.#closeStore = closeStore
  }

  static async create(options: FreshkeyModuleOptions): Promise<FreshkeyInstance> {
    if (options === null || typeof options !== 'object') {
      throw new ConfigError('FreshkeyModule needs options: { namespace, store?, ... }')
    }
    const {
      store: given,
      closeStore,
      typeorm,
      mikroOrm,
      ...rest
    } = options as FreshkeyModuleOptions & {
      isGlobal?: unknown
    }
    delete (rest as { isGlobal?: unknown }).isGlobal
    const created = given === undefined || typeof given === 'function'
    const store = given === undefined ? memoryStore() : typeof given === 'function' ? await given() : given
    const instance = new FreshkeyInstance(createFreshkey({ ...rest, store }), store, closeStore ?? created)
    try {
      const dataSources = typeorm === undefined ? [] : Array.isArray(typeorm) ? typeorm : [typeorm]
      if (dataSources.length > 0) {
        const { freshkeyTypeORM } = await loadPeer(
          () => import('@freshkey/typeorm'),
          '@freshkey/typeorm',
          'typeorm',
        )
        for (const ds of dataSources) instance.#attached.push(freshkeyTypeORM(ds as never, instance.fk))
      }
      if (mikroOrm !== undefined) {
        const { freshkeyMikroORM } = await loadPeer(
          () => import('@freshkey/mikro-orm'),
          '@freshkey/mikro-orm',
          'mikroOrm',
        )
        instance.#attached.push(freshkeyMikroORM(mikroOrm as never, instance.fk))
      }
    } catch (error) {
      await instance.onModuleDestroy()
      throw error
    }
    return instance
  }

  async onModuleDestroy(): Promise<void> {
    if (this.#destroyed) return
    this.#destroyed = true
    for (const handle of this.#attached.splice(0).reverse()) handle.dispose()
    await this.fk.close()
    if (this.#closeStore) await this.#store.close()
  }
}

async function loadPeer<T>(load: () => Promise<T>, name: string, option: string): Promise<T> {
  try {
    return await load()
  } catch (error) {
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND'
    if (missing && String(message).includes(`'${name}'`)) {
      throw new ConfigError(
        `FreshkeyModule option \`${option}\` needs ${name}: install it next to @freshkey/nestjs`,
      )
    }
    throw error
  }
}
