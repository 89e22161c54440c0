/** What a freshkey key (layout 2, without the store prefix) is, from its shape. */
export interface KeyKind {
  /** The namespace as it appears in keys (escaped). */
  readonly namespace: string
  readonly kind:
    | 'row'
    | 'table'
    | 'bulk'
    | 'scope'
    | 'scope-wide'
    | 'scheme-hash'
    | 'scheme-version'
    | 'tag'
    | 'global'
    | 'value'
    | 'lease'
    | 'collection'
    | 'versions'
    | 'meta'
    | 'other'
  /** The table, tag or version the key belongs to, when it has one. */
  readonly owner?: string
}

/** Classifies a key without its prefix, e.g. `{shop:t:users}:r:1` → a row token of table users. */
export function classify(key: string): KeyKind {
  if (!key.startsWith('{')) return { namespace: '', kind: 'other' }
  const close = key.indexOf('}')
  if (close < 0) return { namespace: '', kind: 'other' }
  const tag = key.slice(1, close)
  const rest = key.slice(close + 1)
  const colon = tag.indexOf(':')
  if (colon < 0) return { namespace: tag, kind: 'other' }
  const namespace = tag.slice(0, colon)
  const group = tag.slice(colon + 1)
  if (group.startsWith('t:')) {
    const table = group.slice(2)
    const kind =
      rest === ':t'
        ? 'table'
        : rest === ':b'
          ? 'bulk'
          : rest.startsWith(':r:')
            ? 'row'
            : rest.startsWith(':s:')
              ? 'scope'
              : rest.startsWith(':w:')
                ? 'scope-wide'
                : rest === ':q'
                  ? 'scheme-hash'
                  : rest === ':qv'
                    ? 'scheme-version'
                    : 'other'
    return { namespace, kind, owner: table }
  }
  if (group.startsWith('x:'))
    return { namespace, kind: rest === ':x' ? 'tag' : 'other', owner: group.slice(2) }
  if (group === 'g') return { namespace, kind: rest === ':g' ? 'global' : 'other' }
  if (group === 'meta') return { namespace, kind: rest === ':versions' ? 'versions' : 'meta' }
  if (group.startsWith('@')) {
    const at = group.indexOf(':')
    const version = at < 0 ? group.slice(1) : group.slice(1, at)
    const body = at < 0 ? '' : group.slice(at + 1)
    if (body.startsWith('c:')) return { namespace, kind: 'collection', owner: version }
    if (rest === ':v') return { namespace, kind: 'value', owner: version }
    if (rest === ':l') return { namespace, kind: 'lease', owner: version }
    return { namespace, kind: 'other', owner: version }
  }
  return { namespace, kind: 'other' }
}

/** Token keys: what `inspect` shows as a token (value, TTL, fence). */
export const TOKEN_KINDS = new Set<KeyKind['kind']>([
  'row',
  'table',
  'bulk',
  'scope',
  'scope-wide',
  'tag',
  'global',
])
