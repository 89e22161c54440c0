const NAME = String.raw`(?:"(?:[^"]|"")+"|\x60[^\x60]+\x60|\[[^\]]+\]|[\w$]+)`
const QUALIFIED = `${NAME}(?:\\s*\\.\\s*${NAME})*`
const LIST = `${QUALIFIED}(?:\\s*,\\s*${QUALIFIED})*`

const TARGETS: readonly RegExp[] = [
  new RegExp(String.raw`\binsert\s+(?:or\s+\w+\s+)?(?:ignore\s+)?into\s+(${QUALIFIED})`, 'gi'),
  new RegExp(String.raw`\breplace\s+into\s+(${QUALIFIED})`, 'gi'),
  new RegExp(String.raw`\bupdate\s+(?:only\s+)?(${QUALIFIED})`, 'gi'),
  new RegExp(String.raw`\bdelete\s+(?:\w+\s+)*?from\s+(?:only\s+)?(${QUALIFIED})`, 'gi'),
  new RegExp(String.raw`\btruncate\s+(?:table\s+)?(?:only\s+)?(${LIST})`, 'gi'),
  new RegExp(String.raw`\bmerge\s+into\s+(${QUALIFIED})`, 'gi'),
  new RegExp(String.raw`\balter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?(${QUALIFIED})`, 'gi'),
  new RegExp(String.raw`\bdrop\s+table\s+(?:if\s+exists\s+)?(${LIST})`, 'gi'),
  new RegExp(String.raw`\brefresh\s+materialized\s+view\s+(?:concurrently\s+)?(${QUALIFIED})`, 'gi'),
  new RegExp(String.raw`\bcopy\s+(${QUALIFIED})\s+from\b`, 'gi'),
]

/** Words that start or contain a write; clauses that only look like one are removed first. */
const WRITE =
  /\b(?:insert|replace|update|delete|truncate|merge|alter|drop|refresh|copy|call|do|exec|execute)\b/i
const NOT_A_WRITE =
  /\bfor\s+(?:no\s+key\s+)?update\b|\bfor\s+share\b|\bon\s+(?:update|delete)\b|\bdo\s+(?:update|nothing)\b/gi

/**
 * Tables a raw SQL statement writes, among `known` (matched case-insensitively, schema ignored).
 * `[]` for a statement that writes nothing; every known table when it writes but names none
 * (a procedure call, an anonymous block, a table we do not know the name form of).
 */
export function writtenTables(sql: string, known: ReadonlySet<string>): string[] {
  const text = stripLiterals(sql).replace(NOT_A_WRITE, ' ')
  if (!WRITE.test(text)) return []
  const byLower = new Map<string, string>()
  for (const t of known) byLower.set(t.toLowerCase(), t)
  const out = new Set<string>()
  for (const re of TARGETS) {
    re.lastIndex = 0
    for (const m of text.matchAll(re)) {
      for (const name of splitList(m[1]!)) {
        const table = byLower.get(name.toLowerCase())
        if (table !== undefined) out.add(table)
      }
    }
  }
  return out.size > 0 ? [...out] : [...known]
}

/** Removes comments, string literals and dollar-quoted bodies (their words are data, not SQL). */
function stripLiterals(sql: string): string {
  return sql
    .replace(/\$([\w]*)\$[\s\S]*?\$\1\$/g, ' ')
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/'(?:[^']|'')*'/g, "''")
}

/** `a.b, "c"` → the last part of each qualified name, unquoted. */
function splitList(list: string): string[] {
  const names: string[] = []
  for (const qualified of list.match(new RegExp(QUALIFIED, 'g')) ?? []) {
    const parts = qualified.match(new RegExp(NAME, 'g')) ?? []
    const last = parts[parts.length - 1]
    if (last) names.push(unquote(last))
  }
  return names
}

function unquote(name: string): string {
  if (name.startsWith('"')) return name.slice(1, -1).replace(/""/g, '"')
  if (name.startsWith('`') || name.startsWith('[')) return name.slice(1, -1)
  return name
}

/** Identifiers in a query's text that are known table names (for result cache keys built from SQL). */
export function mentionedTables(sql: string, known: ReadonlySet<string>): string[] {
  const byLower = new Map<string, string>()
  for (const t of known) byLower.set(t.toLowerCase(), t)
  const out = new Set<string>()
  for (const token of stripLiterals(sql).match(new RegExp(NAME, 'g')) ?? []) {
    const table = byLower.get(unquote(token).toLowerCase())
    if (table !== undefined) out.add(table)
  }
  return [...out]
}
