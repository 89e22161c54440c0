// Table names in SQL text, for the two places where the adapter only sees SQL: the query result
// cache (which tables a SELECT read) and raw `query()` calls (which tables a statement wrote).
// Erring wide is safe in both (a needless miss), erring narrow is a stale read, so both scan
// generously and report what they could not classify.

const IDENT = String.raw`(?:"(?:[^"]|"")+"|\x60[^\x60]+\x60|\[[^\]]+\]|[A-Za-z_][\w$]*)`
const QUALIFIED = String.raw`${IDENT}(?:\s*\.\s*${IDENT}){0,2}`
const IDENT_RE = new RegExp(IDENT, 'g')

/** Removes comments and string literals, so their text never looks like SQL. */
export function stripSql(sql: string): string {
  return sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/'(?:[^']|'')*'/g, "''")
    .replace(/\$([A-Za-z_]\w*)?\$[\s\S]*?\$\1\$/g, "''")
}

function unquote(ident: string): string {
  const c = ident[0]
  if (c === '"') return ident.slice(1, -1).replace(/""/g, '"')
  if (c === '`' || c === '[') return ident.slice(1, -1)
  return ident
}

/** The last part of a possibly schema-qualified, possibly quoted name. */
function lastPart(name: string): string {
  const parts = name.match(IDENT_RE) ?? [name]
  return unquote(parts[parts.length - 1]!)
}

/** Tables a read may depend on: names after FROM/JOIN, and any identifier equal to a known table. */
export function tablesRead(sql: string, known: ReadonlySet<string>): string[] {
  const text = stripSql(sql)
  const found = new Set<string>()
  for (const m of text.matchAll(new RegExp(String.raw`\b(?:FROM|JOIN)\s+(${QUALIFIED})`, 'gi'))) {
    const name = lastPart(m[1]!)
    if (!/^(SELECT|LATERAL|UNNEST|ONLY)$/i.test(name)) found.add(name)
  }
  for (const m of text.matchAll(IDENT_RE)) {
    const name = unquote(m[0])
    if (known.has(name)) found.add(name)
    else if (!m[0].startsWith('"') && known.has(name.toLowerCase())) found.add(name.toLowerCase())
  }
  return [...found]
}

/** What a raw statement writes. */
export interface WrittenTable {
  readonly table: string
  readonly verb: 'insert' | 'update' | 'delete' | 'truncate' | 'ddl'
  /** `TRUNCATE ... CASCADE`: referencing tables are emptied too. */
  readonly cascade?: boolean
}

const WRITERS: [RegExp, WrittenTable['verb']][] = [
  [new RegExp(String.raw`\b(?:INSERT|REPLACE)\s+(?:OR\s+\w+\s+)?INTO\s+(${QUALIFIED})`, 'gi'), 'insert'],
  [new RegExp(String.raw`\bMERGE\s+INTO\s+(${QUALIFIED})`, 'gi'), 'update'],
  [
    new RegExp(
      String.raw`\bUPDATE\s+(?:OR\s+\w+\s+)?(?:ONLY\s+)?(${QUALIFIED})\s+(?:AS\s+)?(?:${IDENT}\s+)?SET\b`,
      'gi',
    ),
    'update',
  ],
  [new RegExp(String.raw`\bDELETE\s+FROM\s+(?:ONLY\s+)?(${QUALIFIED})`, 'gi'), 'delete'],
  [
    new RegExp(String.raw`\b(?:DROP|ALTER)\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(${QUALIFIED})`, 'gi'),
    'ddl',
  ],
  [new RegExp(String.raw`\bCOPY\s+(${QUALIFIED})(?:\s*\([^)]*\))?\s+FROM\b`, 'gi'), 'insert'],
]

const READ_ONLY =
  /^(SELECT|VALUES|SHOW|PRAGMA|BEGIN|START|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|SET|RESET|EXPLAIN(?!\s+ANALY[SZ]E)|DESCRIBE|DESC|LISTEN|UNLISTEN|NOTIFY|DISCARD|DEALLOCATE|PREPARE|FETCH|CLOSE|DECLARE|LOCK|VACUUM|ANALY[SZ]E|CHECKPOINT|CREATE|GRANT|REVOKE|COMMENT)\b/i
const WRITE_VERB = /\b(INSERT|UPDATE|DELETE|MERGE|REPLACE|TRUNCATE|COPY|DROP|ALTER|CALL|DO|EXEC|EXECUTE)\b/i

/**
 * Tables the statements in `sql` write, and whether some write could not be attributed to a table
 * (`unknown`: the caller must invalidate widely).
 */
export function tablesWritten(sql: string): { tables: WrittenTable[]; unknown: boolean } {
  const tables: WrittenTable[] = []
  let unknown = false
  for (const raw of stripSql(sql).split(';')) {
    const statement = raw.trim()
    if (statement === '') continue
    const before = tables.length
    for (const [re, verb] of WRITERS) {
      for (const m of statement.matchAll(re)) tables.push({ table: lastPart(m[1]!), verb })
    }
    const truncate = /\bTRUNCATE\s+(?:TABLE\s+)?(?:ONLY\s+)?([\s\S]*)/i.exec(statement)
    if (truncate) {
      const cascade = /\bCASCADE\b/i.test(truncate[1]!)
      const list = truncate[1]!.replace(/\b(RESTART|CONTINUE)\s+IDENTITY\b|\b(CASCADE|RESTRICT)\b/gi, '')
      for (const name of list.split(',')) {
        const trimmed = name.trim()
        if (trimmed) tables.push({ table: lastPart(trimmed), verb: 'truncate', cascade })
      }
    }
    if (tables.length === before && !READ_ONLY.test(statement)) {
      if (!/^(WITH|\()/i.test(statement) || WRITE_VERB.test(statement)) unknown = true
    }
  }
  return { tables, unknown }
}
