import { canonical, segment } from './encoding.ts'

/** Key names of one table (see {@link Keyspace.tableKeys}). */
export interface TableKeys {
  /** `{ns:t:<table>}`: the table's group. */
  readonly group: string
  readonly table: string
  readonly bulk: string
  /** What every row key of the table starts with: `{ns:t:<table>}:r:`. */
  readonly rowPrefix: string
  /** Built here once, as every bump and lift names them. */
  readonly counter: string
  readonly schemes: string
  readonly schemeVersion: string
  /** Row keys built so far, by primary key (see {@link Keyspace.row}). */
  readonly rows: Map<string, string>
}

const TABLES = 10_000
/** Row keys remembered over all tables, then forgotten at once. */
const ROW_KEYS = 100_000

/**
 * Store key names of one namespace (key layout version 2).
 *
 * Every key carries a hash tag (`{…}`) naming its group: all tokens of one table share the group
 * `{ns:t:<table>}` so a table's row, bulk, scope and scheme keys stay in one Redis Cluster slot,
 * while different tables, tags and values spread over the cluster. Nothing is read by every
 * operation: there is no namespace-wide key on the hot path.
 *
 * Tokens are shared by all versions (a write by new code must invalidate old code's values);
 * values, leases and snapshots live under their version so versions never read each other's data.
 */
export class Keyspace {
  readonly ns: string
  readonly versionPrefix: string
  readonly all: string
  /** Read only by keys with no dependency at all (`keyFor('page', 1)`), so `invalidateAll` changes them too. */
  readonly epoch: string
  readonly versions: string
  /** Pub/sub channel that receives the keys of every bump. */
  readonly bumps: string
  /** Prefixes of every token key of the namespace (what `invalidateAll` fences). */
  readonly tokenPrefixes: readonly string[]
  /** What every key of a table group starts with: `{ns:t:`. */
  readonly #tableHead: string

  constructor(
    namespace: string,
    readonly version: string,
  ) {
    this.ns = segment(namespace)
    this.versionPrefix = this.versionPrefixOf(version)
    this.all = `{${this.ns}:g}:g`
    this.epoch = `{${this.ns}:g}:e`
    this.versions = `{${this.ns}:meta}:versions`
    this.bumps = `{${this.ns}:meta}:bumps`
    this.tokenPrefixes = [`{${this.ns}:t:`, `{${this.ns}:x:`, `{${this.ns}:g}`]
    this.#tableHead = `{${this.ns}:t:`
  }

  /** Key names of the tables seen so far (tables are few; bounded all the same). */
  readonly #tables = new Map<string, TableKeys>()
  #rowKeys = 0

  /** The key names of one table, built once: every row key of a read starts with the same text. */
  tableKeys(table: string): TableKeys {
    let t = this.#tables.get(table)
    if (t === undefined) {
      if (this.#tables.size >= TABLES) this.#tables.clear()
      const group = `{${this.ns}:t:${segment(table)}}`
      t = {
        group,
        table: `${group}:t`,
        bulk: `${group}:b`,
        rowPrefix: `${group}:r:`,
        counter: `${group}:n`,
        schemes: `${group}:q`,
        schemeVersion: `${group}:qv`,
        rows: new Map(),
      }
      this.#tables.set(table, t)
    }
    return t
  }

  /** The group (hash tag) of a table's tokens. */
  group(table: string): string {
    return this.tableKeys(table).group
  }
  table(table: string): string {
    return this.tableKeys(table).table
  }
  /** The table's bump counter: every bump of its tokens increments it, and new tokens carry its value. */
  counter(table: string): string {
    return this.tableKeys(table).counter
  }
  bulk(table: string): string {
    return this.tableKeys(table).bulk
  }
  row(table: string, pk: string): string {
    return this.rowOf(this.tableKeys(table), pk)
  }
  /**
   * The row key of `pk` in a table. Remembered: the same rows are read again and again, and one
   * string reused (flattened and hashed once) costs the store client far less than a freshly
   * concatenated one per call, which it must flatten to measure and write.
   */
  rowOf(t: TableKeys, pk: string): string {
    let key = t.rows.get(pk)
    if (key === undefined) {
      key = t.rowPrefix + segment(pk)
      if (++this.#rowKeys > ROW_KEYS) {
        for (const other of this.#tables.values()) other.rows.clear()
        this.#rowKeys = 1
      }
      t.rows.set(pk, key)
    }
    return key
  }
  /** A scope condition: rows of `table` whose `fields` (id) hold `values` (id). */
  condition(table: string, fieldsId: string, valuesId: string): string {
    return `${this.group(table)}:s:${fieldsId}:${valuesId}`
  }
  /** Every condition of one field list at once. */
  wide(table: string, fieldsId: string): string {
    return `${this.group(table)}:w:${fieldsId}`
  }
  /** Every condition of one field list whose `field` holds `value` (id): bumped by an image that names only some of the fields. */
  fieldValue(table: string, fieldsId: string, field: string, value: string): string {
    return `${this.group(table)}:w:${fieldsId}:f:${segment(canonical([field, value]))}`
  }
  /** Hash of the schemes (field lists) cached queries filter the table on. */
  schemes(table: string): string {
    return this.tableKeys(table).schemes
  }
  schemeVersion(table: string): string {
    return this.tableKeys(table).schemeVersion
  }
  tag(name: string): string {
    return `{${this.ns}:x:${segment(name)}}:x`
  }
  /** Prefix of every value, lease and snapshot of every version. */
  get valuesPrefix(): string {
    return `{${this.ns}:@`
  }
  versionPrefixOf(version: string): string {
    return `{${this.ns}:@${segment(version)}:`
  }
  /** A value entry; its lease shares its group. */
  value(body: string): string {
    return `${this.versionPrefix}${slotBody(body)}}:v`
  }
  lease(entryKey: string): string {
    return `${entryKey.slice(0, -2)}:l`
  }
  collection(name: string, version = this.version): string {
    return `${this.versionPrefixOf(version)}c:${segment(name)}}`
  }
  /** The bump counter of the table group a key belongs to, or undefined outside table groups. */
  counterOf(key: string): string | undefined {
    const head = this.#tableHead
    if (!key.startsWith(head)) return undefined
    return `${key.slice(0, key.indexOf('}', head.length) + 1)}:n`
  }
  /** The bump counters of the table groups of these keys, each once, in the order first met. */
  countersOf(keys: Iterable<string>): string[] {
    const out: string[] = []
    // The group of the last table key, up to its first `}`: a key starting with it has the same
    // counter, and a table's keys come together, so most keys build no string here.
    let group: string | undefined
    for (const key of keys) {
      if (group !== undefined && key.startsWith(group)) continue
      const c = this.counterOf(key)
      if (c === undefined) continue
      const g = c.slice(0, -2)
      group = g.endsWith('}') ? g : undefined
      if (!out.includes(c)) out.push(c)
    }
    return out
  }
  /** The table a token key belongs to, or undefined for tags, the global token and values. */
  tableOf(key: string): string | undefined {
    const head = this.#tableHead
    if (!key.startsWith(head)) return undefined
    return key.slice(head.length, key.indexOf('}', head.length))
  }
  /** True for the token keys of a table group (escaped table name as `tableOf` returns it). */
  inTable(key: string, escapedTable: string): boolean {
    return key.startsWith(`{${this.ns}:t:${escapedTable}}`)
  }
}

/** Braces would end the hash tag early: escape them (and `%`, so the escaping stays injective). */
function slotBody(body: string): string {
  return /[{}%]/.test(body) ? body.replace(/[{}%]/g, (c) => `%${c.charCodeAt(0).toString(16)}`) : body
}
