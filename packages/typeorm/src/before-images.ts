import { canonicalPk, type PrimaryKey, type RowImage } from '@freshkey/core'
import type { EntityMetadata, ObjectLiteral, QueryRunner } from 'typeorm'
import { imageOf, pkOf } from './row-image.ts'

const LOCKING = new Set([
  'postgres',
  'cockroachdb',
  'mysql',
  'mariadb',
  'aurora-mysql',
  'oracle',
  'mssql',
  'sap',
  'spanner',
])

/**
 * Reads the scoped columns of rows inside the writer's transaction, locking them where the
 * database can (`FOR UPDATE`), so the before image is the row the write really changes: an image
 * loaded earlier may miss a concurrent move between scopes and leave the old scope stale.
 * Returns images by canonical primary key.
 */
export async function readBeforeImages(
  runner: QueryRunner,
  metadata: EntityMetadata,
  pks: readonly PrimaryKey[],
  fields: readonly string[],
): Promise<Map<string, RowImage>> {
  const images = new Map<string, RowImage>()
  if (pks.length === 0) return images
  const alias = 'fk_before'
  const paths = new Set([...metadata.primaryColumns.map((c) => c.propertyPath), ...fields])
  const selected = metadata.columns
    .filter((c) => paths.has(c.propertyPath))
    .map((c) => `${alias}.${c.propertyPath}`)
  const qb = runner.manager
    .createQueryBuilder(metadata.target, alias, runner)
    .select(selected)
    .whereInIds(pks.map((pk) => (typeof pk === 'object' ? { ...pk } : pk)))
    .withDeleted()
    .cache(false)
    .callListeners(false)
  if (runner.isTransactionActive && LOCKING.has(String(runner.dataSource.options.type)))
    qb.setLock('pessimistic_write')
  for (const row of (await qb.getMany()) as ObjectLiteral[]) {
    const pk = pkOf(metadata, row)
    const image = imageOf(metadata, row)
    if (pk !== undefined && image) images.set(canonicalPk(pk), image)
  }
  return images
}
