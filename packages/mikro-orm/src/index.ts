export type { FreshkeyCacheAdapterOptions } from './cache-adapter.ts'
export { FreshkeyCacheAdapter, freshkeyCacheAdapter } from './cache-adapter.ts'
export { CaptureError, RegistrationError } from './errors.ts'
export type { FreshkeyMikroOrmOptions } from './options.ts'
export { writtenTables } from './raw-sql.ts'

export type { FreshkeyMikroORM, MikroOrmLike } from './register.ts'
export { freshkeyMikroORM } from './register.ts'
export { FreshkeySubscriber } from './subscriber.ts'
