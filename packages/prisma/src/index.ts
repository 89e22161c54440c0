export type { CachedReadOptions, CachedReads } from './cached-reads.ts'
export { MetadataError, PrismaOptionsError } from './errors.ts'
export type { FreshkeyPrismaInfo } from './extension.ts'
export { freshkeyPrisma } from './extension.ts'
export type {
  FreshkeyPrismaMetadata,
  ModelMetadata,
  ReferentialAction,
  RelationMetadata,
} from './metadata.ts'
export { buildMetadata } from './metadata.ts'
export type { FreshkeyPrismaOptions } from './options.ts'
export type { PrismaModelToken } from './record-mark.ts'
export { MODEL_MARK, prismaModel } from './record-mark.ts'
export { prismaDecimal } from './value-codec.ts'
