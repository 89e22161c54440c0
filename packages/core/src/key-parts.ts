import { ALKEY, type Dependency, dep, isDependency, parseDependency } from './dependency.ts'
import { canonical } from './encoding.ts'
import { InvalidDependencyError, InvalidKeyPartError, UnknownScopeError } from './errors.ts'
import type { Keyspace } from './keyspace.ts'
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
    if (typeof part === 'string') return ALKEY.test(part) ? parseDependency(part) : undefined
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
    // freshly concatenated key into a Set cost more than the client side of the round trip.
    const k = this.#keys
    const tokenKeys: string[] = []
    const rows = new Map<string, string[] | Set<string>>()
    const body: string[] = []
    let named = false
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]
      const d = this.asDependency(part, label, i)
      if (!d) {
        named = true
        body.push(canonical(part, `${label}[${i}]`))
      } else if (d.type === 'row') {
        let pks = rows.get(d.table)
        if (!pks) {
          pks = []
          rows.set(d.table, pks)
          tokenKeys.push(k.bulk(d.table))
        }
        // A short list scan beats hashing; a Set takes over for long lists.
        const seen = Array.isArray(pks) ? pks.includes(d.pk) : pks.has(d.pk)
        if (!seen) {
          if (Array.isArray(pks)) {
            pks.push(d.pk)
            if (pks.length > 32) rows.set(d.table, new Set(pks))
          } else pks.add(d.pk)
          tokenKeys.push(k.row(d.table, d.pk))
        }
        body.push(depBody(d, ''))
      } else {
        const before = tokenKeys.length
        this.depKeys(d, tokenKeys)
        // Non-row dependencies are few; drop the keys an earlier part already reads.
        for (let j = tokenKeys.length - 1; j >= before; j--) {
          if (tokenKeys.indexOf(tokenKeys[j]!) < j) tokenKeys.splice(j, 1)
        }
        body.push(depBody(d, d.type === 'scope' ? this.scopeTable(d.target) : ''))
      }
    }
    return { body: body.join(','), tokenKeys, named }
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
