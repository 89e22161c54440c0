import { FreshkeyError } from '@freshkey/core'

/** The same Prisma client got freshkey twice with different freshkey instances. */
export class AlreadyRegisteredError extends FreshkeyError {
  constructor() {
    super(
      'E_PRISMA_ALREADY_REGISTERED',
      'this Prisma client already has freshkeyPrisma() with another freshkey instance; extend the base client instead',
    )
  }
}

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
