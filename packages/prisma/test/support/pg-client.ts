import { createRequire } from 'node:module'

/** The part of node-postgres the tests use (the repository has no @types/pg). */
export interface PgClient {
  connect(): Promise<void>
  query(sql: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>
  end(): Promise<void>
}

const pg = createRequire(import.meta.url)('pg') as {
  Client: new (options: { connectionString: string }) => PgClient
}

/** A connected node-postgres client; end it when done. */
export async function pgConnect(connectionString: string): Promise<PgClient> {
  const client = new pg.Client({ connectionString })
  await client.connect()
  return client
}
