// No cache: every request goes to PostgreSQL through the ORM. The ratios are against these.
import { openMikroOrm } from './orm-mikro-orm.ts'
import { openPrisma } from './orm-prisma.ts'
import { openTypeOrm } from './orm-typeorm.ts'
import type { Contender } from './types.ts'

export const typeormNoCache: Contender = {
  name: 'typeorm',
  orm: 'typeorm',
  family: 'no cache',
  config: 'TypeORM 1.1.1, pg 8.23.1, no cache',
  open: (ctx) => openTypeOrm(ctx),
}

export const prismaNoCache: Contender = {
  name: 'prisma',
  orm: 'prisma',
  family: 'no cache',
  config: 'Prisma 7.10 (@prisma/adapter-pg 7.10.1), no cache',
  open: (ctx) => openPrisma(ctx),
}

export const mikroOrmNoCache: Contender = {
  name: 'mikro-orm',
  orm: 'mikro-orm',
  family: 'no cache',
  config: 'MikroORM 7.2.1 (@mikro-orm/postgresql), no cache',
  open: (ctx) => openMikroOrm(ctx),
}
