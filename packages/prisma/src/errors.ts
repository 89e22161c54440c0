import { FreshkeyError } from '@freshkey/core'

/** The `metadata` option is not what the `freshkey-prisma` generator writes, or does not match the client. */
export class MetadataError extends FreshkeyError {
  constructor(message: string) {
    super('E_PRISMA_METADATA', message)
  }
}

/** Invalid options given to `freshkeyPrisma()` or `cached()`. */
export class PrismaOptionsError extends FreshkeyError {
  constructor(message: string) {
    super('E_PRISMA_OPTIONS', message)
  }
}
