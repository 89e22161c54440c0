// Which tables SQL text reads and writes, for adapters that see only SQL (raw queries, result
// caches keyed by SQL). Erring wide is safe (a needless miss), erring narrow is a stale read: a
// doubtful statement writes, and a write that cannot be attributed to a known table writes them all.

const IDENT = String.raw`(?:"(?:[^"]|"")+"|\x60[^\x60]+\x60|\[[^\]]+\]|[A-Za-z_\u0080-\uffff][\w$\u0080-\uffff]*)`
const QUALIFIED = String.raw`${IDENT}(?:\s*\.\s*${IDENT}){0,2}`
const ITEM = String.raw`(?:ONLY\s+)?${QUALIFIED}(?:\s*\*)?`
const LIST = String.raw`${ITEM}(?:\s*,\s*${ITEM})*`
const IDENT_RE = new RegExp(IDENT, 'g')
const QUALIFIED_RE = new RegExp(QUALIFIED, 'g')
const SOURCE_RE = new RegExp(String.raw`\b(?:FROM|JOIN)\s+(?:ONLY\s+)?(${QUALIFIED})`, 'gi')

// PostgreSQL escape strings (E'\'') take backslash escapes; plain literals follow the standard.
const LEXEME =
  /--[^\n]*|\/\*[\s\S]*?\*\/|(?<![\w$])[Ee]'(?:[^'\\]|\\[\s\S]|'')*'|'(?:[^']|'')*'|\$([A-Za-z_]\w*)?\$[\s\S]*?\$\1\$|"(?:[^"]|"")*"|`[^`]*`/g
// MySQL (and PostgreSQL with standard_conforming_strings off) take backslash escapes in plain literals too.
const LEXEME_BACKSLASH =
  /--[^\n]*|\/\*[\s\S]*?\*\/|'(?:[^'\\]|\\[\s\S]|'')*'|\$([A-Za-z_]\w*)?\$[\s\S]*?\$\1\$|"(?:[^"]|"")*"|`[^`]*`/g

function strip(sql: string, lexeme: RegExp): string {
  return sql.replace(lexeme, (m) => {
    if (m[0] === '"' || m[0] === '`') return m
    return m[0] === '-' || m[0] === '/' ? ' ' : "''"
  })
}

/**
 * `sql` without comments, string literals and dollar-quoted bodies (literals become `''`), so that
 * their text never reads as SQL. Lexes in one pass: `'--'` is a literal, `"it's"` an identifier,
 * `E'\''` one escape-string literal.
 */
export function stripSql(sql: string): string {
  return strip(sql, LEXEME)
}

/** Every plausible reading of `sql`: where a backslash makes the dialect matter, both (erring wide). */
function readings(sql: string): string[] {
  const standard = strip(sql, LEXEME)
  if (!sql.includes('\\')) return [standard]
  const backslash = strip(sql, LEXEME_BACKSLASH)
  return backslash === standard ? [standard] : [standard, backslash]
}

/** One table a statement writes, as {@link sqlWriteTargets} reports it. */
export interface SqlWriteTarget {
  /** Spelled as in `known` when it matches a known table case-insensitively, else as written (unquoted, schema dropped). */
  readonly table: string
  /**
   * What the statement does to it: `merge` may insert, update and delete (MERGE, REPLACE, upserts);
   * `ddl` alters or drops it; `unknown` marks a known table listed only because a write named none.
   */
  readonly verb: 'insert' | 'update' | 'delete' | 'merge' | 'truncate' | 'ddl' | 'unknown'
  /** `TRUNCATE … CASCADE`: tables referencing it are emptied too. */
  readonly cascade?: boolean
}

type Verb = Exclude<SqlWriteTarget['verb'], 'unknown'>

interface Target {
  readonly re: RegExp
  verb(m: RegExpMatchArray, statement: string): Verb
}

const UPSERT = /\bDO\s+UPDATE\b|\bDUPLICATE\s+KEY\s+UPDATE\b/i
const orReplace = (m: RegExpMatchArray) => /^REPLACE$/i.test(m.groups?.or ?? '')
const target = (source: string, verb: Target['verb']): Target => ({ re: new RegExp(source, 'gi'), verb })

const TARGETS: readonly Target[] = [
  target(
    String.raw`\bINSERT\s+(?:OR\s+(?<or>\w+)\s+)?(?:(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY|IGNORE)\s+)*INTO\s+(?<names>${QUALIFIED})`,
    (m, s) => (orReplace(m) || UPSERT.test(s) ? 'merge' : 'insert'),
  ),
  target(
    String.raw`(?<!\bOR\s+)\bREPLACE\s+(?:(?:LOW_PRIORITY|DELAYED)\s+)?(?:INTO\s+)?(?<names>${QUALIFIED})`,
    () => 'merge',
  ),
  target(String.raw`\b(?:UPSERT|MERGE)\s+INTO\s+(?:ONLY\s+)?(?<names>${QUALIFIED})`, () => 'merge'),
  target(
    String.raw`\bUPDATE\s+(?:OR\s+(?<or>\w+)\s+)?(?:ONLY\s+)?(?<names>${QUALIFIED})(?:\s*\*)?\s+(?:AS\s+)?(?:${IDENT}\s+)?SET\b`,
    (m) => (orReplace(m) ? 'merge' : 'update'),
  ),
  target(
    String.raw`\bDELETE\s+(?:(?:LOW_PRIORITY|QUICK|IGNORE)\s+)*FROM\s+(?<names>${LIST})`,
    () => 'delete',
  ),
  target(String.raw`\bTRUNCATE\s+(?:TABLE\s+)?(?<names>${LIST})`, () => 'truncate'),
  target(
    String.raw`\bREFRESH\s+MATERIALIZED\s+VIEW\s+(?:CONCURRENTLY\s+)?(?<names>${QUALIFIED})`,
    () => 'truncate',
  ),
  target(String.raw`\bCOPY\s+(?<names>${QUALIFIED})(?:\s*\([^)]*\))?\s+FROM\b`, () => 'insert'),
  target(
    String.raw`\b(?:ALTER|DROP)\s+(?:TABLE|(?:MATERIALIZED\s+)?VIEW)\s+(?:IF\s+EXISTS\s+)?(?<names>${LIST})`,
    () => 'ddl',
  ),
  target(
    String.raw`\bCREATE\s+OR\s+REPLACE\s+(?:(?:GLOBAL|LOCAL|TEMP|TEMPORARY|UNLOGGED|MATERIALIZED|RECURSIVE)\s+)*(?:TABLE|VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?(?<names>${QUALIFIED})`,
    () => 'ddl',
  ),
]

/** Phrases that contain a write verb without being a write of their own. */
const NOT_A_WRITE =
  /\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b|\bFOR\s+(?:KEY\s+)?SHARE\b|\bON\s+(?:UPDATE|DELETE)\b|\bDO\s+(?:UPDATE|NOTHING)\b|\bDUPLICATE\s+KEY\s+UPDATE\b|\bTHEN\s+(?:UPDATE|DELETE|INSERT)\b/gi
// INSERT(), REPLACE() and TRUNCATE() are also MySQL string and number functions.
const ROW_WRITE =
  /\b(?:(?:INSERT|(?<!\bOR\s+)REPLACE|TRUNCATE)\b(?!\s*\()|(?:UPDATE|DELETE|MERGE|UPSERT|COPY)\b)/gi
const OTHER_WRITE = /\b(?:ALTER|DROP|CREATE|REFRESH|CALL|DO|EXEC|EXECUTE)\b/i
const QUOTED = /"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]/g

// Statements that write only through a statement they contain (`BEGIN UPDATE …`, `PREPARE p AS DELETE …`).
const READ =
  /^(?:(?:SELECT|VALUES|TABLE|WITH|BEGIN|START|COMMIT|END|ROLLBACK|ABORT|SAVEPOINT|RELEASE|SET|RESET|USE|LISTEN|UNLISTEN|NOTIFY|DISCARD|DEALLOCATE|PREPARE|DECLARE|FETCH|MOVE|CLOSE|UNLOCK|VACUUM|ANALY[SZ]E|CHECKPOINT)\b|\()/i
// Statements that never write, though they may name a write verb (`GRANT UPDATE`, `LOCK … SHARE UPDATE
// EXCLUSIVE`, `CREATE TRIGGER … AFTER UPDATE`); a CREATE that replaces nothing changes no data.
const NO_WRITE = /^(?:SHOW|DESCRIBE|DESC|PRAGMA|GRANT|REVOKE|COMMENT|LOCK|CREATE(?!\s+OR\s+REPLACE\b))\b/i
const EXPLAIN =
  /^EXPLAIN\b(?:\s*\([^)]*\)|\s+(?:ANALY[SZ]E|VERBOSE|EXTENDED|PARTITIONS|QUERY\s+PLAN|FORMAT\s*=\s*\w+))*\s*/i

interface Written {
  readonly index: number
  readonly name: string
  readonly verb: Verb
  readonly cascade: boolean
}

interface Statement {
  readonly writes: boolean
  readonly targets: readonly Written[]
  /** Every row-writing verb belongs to a target found. */
  readonly attributed: boolean
}

const blank = (s: string) => ' '.repeat(s.length)

function statement(text: string): Statement {
  const none: Statement = { writes: false, targets: [], attributed: true }
  const explain = EXPLAIN.exec(text)
  if (explain) return /ANALY[SZ]E/i.test(explain[0]) ? statement(text.slice(explain[0].length)) : none
  if (NO_WRITE.test(text)) return none
  let named = text
  let words = text.replace(QUOTED, (q) => 'x'.repeat(q.length))
  for (const m of words.matchAll(NOT_A_WRITE)) {
    const end = m.index + m[0].length
    named = named.slice(0, m.index) + blank(m[0]) + named.slice(end)
    words = words.slice(0, m.index) + blank(m[0]) + words.slice(end)
  }
  const verbs = [...words.matchAll(ROW_WRITE)].map((m) => m.index)
  const writes = !READ.test(text) || verbs.length > 0 || OTHER_WRITE.test(words)
  if (!writes) return none
  const targets: Written[] = []
  const spans: [number, number][] = []
  for (const { re, verb } of TARGETS) {
    for (const m of named.matchAll(re)) {
      spans.push([m.index, m.index + m[0].length])
      const v = verb(m, text)
      const cascade = v === 'truncate' && /\bCASCADE\b/i.test(words)
      for (const name of names(m.groups!.names!)) targets.push({ index: m.index, name, verb: v, cascade })
    }
  }
  targets.sort((a, b) => a.index - b.index)
  const attributed = targets.length > 0 && verbs.every((i) => spans.some(([from, to]) => i >= from && i < to))
  return { writes, targets, attributed }
}

function statements(sql: string): Statement[] {
  return readings(sql).flatMap((text) =>
    text
      .split(';')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map(statement),
  )
}

function unquote(ident: string): string {
  const c = ident[0]
  if (c === '"') return ident.slice(1, -1).replace(/""/g, '"')
  if (c === '`' || c === '[') return ident.slice(1, -1)
  return ident
}

/** The last part of each possibly schema-qualified, possibly quoted name in a list. */
function names(list: string): string[] {
  const out: string[] = []
  for (const [qualified] of list.matchAll(QUALIFIED_RE)) {
    if (/^ONLY$/i.test(qualified)) continue
    const parts = qualified.match(IDENT_RE)!
    out.push(unquote(parts[parts.length - 1]!))
  }
  return out
}

/** Known tables by lower-case name (two known tables may differ only in case). */
function byLower(known: ReadonlySet<string>): Map<string, string[]> {
  const map = new Map<string, string[]>()
  for (const t of known) {
    const key = t.toLowerCase()
    const list = map.get(key)
    if (list) list.push(t)
    else map.set(key, [t])
  }
  return map
}

/**
 * Whether `sql` may write. Reads: SELECT (`… FOR UPDATE`/`FOR SHARE` included), VALUES, TABLE,
 * WITH … SELECT without a data-modifying CTE, SHOW, EXPLAIN without ANALYZE, CREATE without
 * OR REPLACE, transaction and session statements. A read that contains a write verb
 * (`WITH x AS (DELETE …) SELECT`), any other statement (`INSERT … RETURNING`, CALL) and unknown
 * text may write.
 */
export function sqlWrites(sql: string): boolean {
  return statements(sql).some((s) => s.writes)
}

/**
 * The tables `sql` writes, each with what is done to it, names spelled as in `known` when they
 * match case-insensitively. A writing statement that names no known table, or whose write the
 * patterns cannot attribute (CALL, DO, EXEC, a multi-table UPDATE), adds every known table with verb
 * `unknown`. `[]` when `sql` writes nothing.
 */
export function sqlWriteTargets(sql: string, known: ReadonlySet<string>): SqlWriteTarget[] {
  const lower = byLower(known)
  const out: SqlWriteTarget[] = []
  let everything = false
  for (const s of statements(sql)) {
    if (!s.writes) continue
    let namesKnown = false
    for (const t of s.targets) {
      const spelled = lower.get(t.name.toLowerCase())
      if (spelled) namesKnown = true
      for (const table of spelled ?? [t.name])
        out.push(t.cascade ? { table, verb: t.verb, cascade: true } : { table, verb: t.verb })
    }
    if (!s.attributed || !namesKnown) everything = true
  }
  if (everything) for (const table of known) out.push({ table, verb: 'unknown' })
  return out
}

/**
 * Tables `sql` writes (see {@link sqlWriteTargets}): among `known` (case-insensitive, schema-qualified
 * or quoted names), plus tables it names that are not known; `[]` when it writes nothing; every known
 * table when a writing statement names none it knows (CALL, DO, EXEC…).
 */
export function sqlTablesWritten(sql: string, known: ReadonlySet<string>): string[] {
  return [...new Set(sqlWriteTargets(sql, known).map((t) => t.table))]
}

/**
 * Tables a read may depend on: every name after FROM or JOIN, and every identifier equal to a known
 * table (subqueries, comma joins), case-insensitively. Known tables are spelled as in `known`.
 */
export function sqlTablesRead(sql: string, known: ReadonlySet<string>): string[] {
  const text = readings(sql).join(' ; ')
  const lower = byLower(known)
  const found = new Set<string>()
  const add = (name: string, always: boolean) => {
    const spelled = lower.get(name.toLowerCase())
    if (spelled) for (const t of spelled) found.add(t)
    else if (always) found.add(name)
  }
  for (const m of text.matchAll(SOURCE_RE)) {
    const [name] = names(m[1]!)
    if (name !== undefined && !/^(SELECT|LATERAL|UNNEST|ONLY)$/i.test(name)) add(name, true)
  }
  for (const [ident] of text.matchAll(IDENT_RE)) add(unquote(ident), false)
  return [...found]
}
