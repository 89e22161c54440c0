import { sha256 } from './encoding.ts'

/**
 * A short opaque HTTP ETag (quoted, strong) for a freshkey key: 22 characters of its SHA-256, so
 * nothing of the namespace, tables or primary keys shows, and it changes whenever the key does.
 */
export function etagOf(key: string): string {
  return `"${sha256(key).slice(0, 22)}"`
}
