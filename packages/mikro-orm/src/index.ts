export { sqlTablesWritten as writtenTables } from '@freshkey/core'
export type { FreshkeyCacheAdapterOptions } from './cache-adapter.ts'
export { FreshkeyCacheAdapter, freshkeyCacheAdapter } from './cache-adapter.ts'
export { CaptureError, RegistrationError } from './errors.ts'
export type { FreshkeyMikroOrmOptions } from './options.ts'

export type { FreshkeyMikroORM, MikroOrmLike } from './register.ts'
export { freshkeyMikroORM } from './register.ts'
export { FreshkeySubscriber } from './subscriber.ts'
