import { ALKEY, type Dependency, dep, isDependency, parseDependency } from './dependency.ts'
import { canonical } from './encoding.ts'
import { InvalidDependencyError, InvalidKeyPartError, UnknownScopeError } from './errors.ts'
import type { Keyspace, TableKeys } from './keyspace.ts'
import type { EntityResolver } from './resolver.ts'
import { conditionKeys, type DeclaredSchemes, fieldKeysOf, MAX_CONDITIONS, wideKeys } from './schemes.ts'
import { scopesOf } from './scope-decorator.ts'
import { whereKey } from './scope-value.ts'

/** Key parts resolved: an injective body and the token keys the parts depend on. */
export interface ResolvedParts {
  /** Injective text of the parts, without tokens. */
  readonly body: string
  /** Token keys to read, deduplicated. */
  readonly tokenKeys: string[]
  /** True when at least one part is a plain value (names what is cached) rather than a dependency. */
  readonly named: boolean
}

/** The rows of one table met by one {@link KeyParts.resolve} call. */
interface RowsOf {
  readonly table: string
  readonly keys: TableKeys
  /** `#r<table length>:<table>`: what the body of each of its rows starts with. */
  readonly body: string
  /** Its distinct primary keys so far (until `set` takes over). */
  readonly pks: string[]
  /** A 2048-bit filter of `pks` by {@link pkHash}: only a set bit costs a scan of the list. */
  bits: Uint32Array | undefined
  set: Set<string> | undefined
}

/** Rows of one table up to this many are scanned; beyond {@link FILTERED}, a Set holds them. */
const SCANNED = 8
const FILTERED = 256

/** A cheap string hash (FNV-1a over the UTF-16 code units) for the row filter. */
function pkHash(pk: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < pk.length; i++) h = Math.imul(h ^ pk.charCodeAt(i), 0x01000193)
  return h
}

function mark(bits: Uint32Array, pk: string): boolean {
  const h = pkHash(pk)
  const w = (h >>> 5) & 63
  const b = 1 << (h & 31)
  const set = (bits[w]! & b) !== 0
  bits[w] = bits[w]! | b
  return set
}

/**
 * Whether `pk` was met before among the rows of `r` (and records it if not). Hashing each key into
 * a Set costs more than everything else the key building does; the common case (distinct rows)
 * mostly finds a clear bit in the filter instead, and only a set bit pays for an exact scan.
 */
function seenRow(r: RowsOf, pk: string): boolean {
  if (r.set !== undefined) {
    const size = r.set.size
    return r.set.add(pk).size === size
  }
  const pks = r.pks
  if (pks.length < SCANNED) {
    if (pks.includes(pk)) return true
  } else {
    if (r.bits === undefined) {
      r.bits = new Uint32Array(64)
      for (const p of pks) mark(r.bits, p)
    }
    if (mark(r.bits, pk) && pks.includes(pk)) return true
  }
  pks.push(pk)
  if (pks.length > FILTERED) {
    r.set = new Set(pks)
    r.bits = undefined
  }
  return false
}

/**
 * Turns key parts (dependencies, `table#pk` strings, entities and entity classes through the
 * registered resolvers, plain values) into key text and token keys.
 */
export class KeyParts {
  readonly #keys: Keyspace
  readonly #declared: DeclaredSchemes
  readonly resolvers: EntityResolver[] = []
  readonly #pendingScopes = new Map<object, (readonly string[])[]>()

  constructor(keys: Keyspace, declared: DeclaredSchemes) {
    this.#keys = keys
    this.#declared = declared
  }

  tableOf(target: unknown): string | undefined {
    for (const r of this.resolvers) {
      const table = r.tableOf(target)
      if (table !== undefined) return table
    }
    return undefined
  }

  identify(value: object): Dependency | undefined {
    for (const r of this.resolvers) {
      const id = r.identify(value)
      if (id) return dep.row(id.table, id.pk)
    }
    return undefined
  }

  /** Declares scopes on a table, or on an entity class once a resolver knows it. */
  defineScope(target: string | object, lists: readonly (readonly string[])[]): void {
    if (typeof target === 'string') {
      this.#declared.define(target, lists)
      return
    }
    const table = this.tableOf(target)
    if (table !== undefined) this.#declared.define(table, lists)
    else this.#pendingScopes.set(target, [...(this.#pendingScopes.get(target) ?? []), ...lists])
  }

  /** Declares the scopes of classes whose resolver arrived after their declaration. */
  refresh(): void {
    for (const [target, lists] of this.#pendingScopes) {
      const table = this.tableOf(target)
      if (table !== undefined) {
        this.#declared.define(table, lists)
        this.#pendingScopes.delete(target)
      }
    }
  }

  scopeTable(target: string | object): string {
    if (typeof target === 'string') return target
    const table = this.tableOf(target)
    if (table === undefined) {
      const name = (target as { name?: string }).name ?? 'entity'
      throw new InvalidDependencyError(`no registered resolver knows ${name}: install its ORM adapter first`)
    }
    const declared = scopesOf(target)
    if (declared) this.#declared.define(table, declared)
    return table
  }

  /** The condition keys of a `dep.scope(target, where)` on a declared field list. */
  scopeConditions(
    table: string,
    where: Readonly<Record<string, unknown>>,
  ): { list: readonly string[]; conds: string[] } {
    const fields = Object.keys(where).sort()
    const lists = this.#declared.lists(table)
    const list = lists.find((l) => l.length === fields.length && l.every((f, i) => f === fields[i]))
    if (!list) throw new UnknownScopeError(table, fields, lists)
    const conds = conditionKeys(this.#keys, table, list, where)
    if (!conds) {
      const n = list.reduce((p, f) => p * (Array.isArray(where[f]) ? (where[f] as unknown[]).length : 1), 1)
      throw new InvalidDependencyError(
        `a scope of "${table}" expands to ${n} conditions (at most ${MAX_CONDITIONS})`,
      )
    }
    if (conds.length === 0)
      throw new InvalidDependencyError(`a scope field of "${table}" has an empty "any of" list`)
    return { list, conds }
  }

  /** Token keys a `dep.scope(target, where)` reads: its conditions, its field keys, the scheme-wide keys and the bulk key. */
  scopeKeys(table: string, where: Readonly<Record<string, unknown>>): string[] {
    const { list, conds } = this.scopeConditions(table, where)
    const fields = list.length > 1 ? fieldKeysOf(this.#keys, table, list, where) : []
    return [...conds, ...fields, ...wideKeys(this.#keys, table, list, true), this.#keys.bulk(table)]
  }

  /** Token keys of one dependency. */
  depKeys(d: Dependency, out: string[]): void {
    const k = this.#keys
    switch (d.type) {
      case 'row':
        out.push(k.row(d.table, d.pk), k.bulk(d.table))
        return
      case 'table':
        out.push(k.table(d.table))
        return
      case 'all':
        out.push(k.all)
        return
      case 'tag':
        out.push(k.tag(d.name))
        return
      case 'scope':
        out.push(...this.scopeKeys(this.scopeTable(d.target), d.where))
    }
  }

  asDependency(part: unknown, label: string, i: number): Dependency | undefined {
    if (isDependency(part)) return part
    // Every dependency string holds a `#`: plain names skip the pattern.
    if (typeof part === 'string')
      return part.includes('#') && ALKEY.test(part) ? parseDependency(part) : undefined
    if (typeof part === 'function') {
      const table = this.tableOf(part)
      if (table === undefined) {
        throw new InvalidKeyPartError(
          `${label}[${i}]`,
          `no registered resolver knows ${part.name || 'this function'} (install its ORM adapter)`,
        )
      }
      return dep.table(table)
    }
    if (typeof part === 'object' && part !== null && !Array.isArray(part) && !(part instanceof Date)) {
      const row = this.identify(part)
      if (row) return row
      const table = this.tableOf(part)
      return table === undefined ? undefined : dep.table(table)
    }
    return undefined
  }

  resolve(parts: readonly unknown[], label = 'parts'): ResolvedParts {
    // Rows are deduplicated by table and primary key, not by their built key strings: hashing every
    // freshly concatenated key into a Set cost more than the client side of the round trip (see
    // `seenRow`). The text shared by a table's rows (key prefix, body prefix) is built once per
    // table and call.
    const k = this.#keys
    const tokenKeys: string[] = []
    let rows: Map<string, RowsOf> | undefined
    let last: RowsOf | undefined
    let body = ''
    let named = false
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]
      const d = this.asDependency(part, label, i)
      if (i > 0) body += ','
      if (!d) {
        named = true
        body += canonical(part, `${label}[${i}]`)
      } else if (d.type === 'row') {
        const table = d.table
        let r = last !== undefined && last.table === table ? last : rows?.get(table)
        if (r === undefined) {
          const keys = k.tableKeys(table)
          r = {
            table,
            keys,
            body: `#r${table.length}:${table}`,
            pks: [],
            bits: undefined,
            set: undefined,
          }
          rows ??= new Map()
          rows.set(table, r)
          tokenKeys.push(keys.bulk)
        }
        last = r
        const pk = d.pk
        if (!seenRow(r, pk)) tokenKeys.push(k.rowOf(r.keys, pk))
        // = depBody(d): `#r<table length>:<table><pk length>:<pk>`
        body += `${r.body}${pk.length}:${pk}`
      } else {
        const before = tokenKeys.length
        this.depKeys(d, tokenKeys)
        // Non-row dependencies are few; drop the keys an earlier part already reads.
        for (let j = tokenKeys.length - 1; j >= before; j--) {
          if (tokenKeys.indexOf(tokenKeys[j]!) < j) tokenKeys.splice(j, 1)
        }
        body += depBody(d, d.type === 'scope' ? this.scopeTable(d.target) : '')
      }
    }
    return { body, tokenKeys, named }
  }

  /** Token keys of declared dependencies: an array of them, or one. */
  declared(deps: unknown, label = 'deps'): string[] {
    if (deps === undefined) return []
    const list = Array.isArray(deps) ? deps : [deps]
    if (!Array.isArray(deps) && this.asDependency(deps, label, 0) === undefined) {
      throw new InvalidDependencyError(
        `\`${label}\` must be a dependency or an array of dependencies (dep.row(...), 'users#1', an entity)`,
      )
    }
    const { tokenKeys, named } = this.resolve(list, label)
    if (named) {
      throw new InvalidDependencyError(
        `\`${label}\` holds a plain value: dependencies are dep.row(...), dep.table(...), dep.tag(...), dep.scope(...), 'table#pk' strings or entities`,
      )
    }
    return tokenKeys
  }
}

/**
 * Injective, self-delimiting key text of a dependency (length-prefixed names). Scope values that
 * only normalize alike share tokens, never a cached value (DESIGN rule 7), hence the raw `where`.
 */
function depBody(d: Dependency, scopeTable: string): string {
  switch (d.type) {
    case 'row':
      return `#r${d.table.length}:${d.table}${d.pk.length}:${d.pk}`
    case 'table':
      return `#t${d.table.length}:${d.table}`
    case 'all':
      return '#g'
    case 'tag':
      return `#x${d.name.length}:${d.name}`
    case 'scope':
      return `#s${scopeTable.length}:${scopeTable}${whereKey(d.where)}`
  }
}
