import { sha256 } from './encoding.ts'
import { InvalidKeyPartError } from './errors.ts'

/**
 * A short, opaque HTTP entity tag for a key from `fk.keyFor(...)`: `W/"` + 22 base64url characters
 * (132 bits of the key's SHA-256) + `"`. No namespace, table or primary key shows through, and any
 * bump changes it. Weak, because it names the data a response was built from, not its bytes.
 */
export function etagOf(key: string): string {
  if (typeof key !== 'string' || key === '') {
    throw new InvalidKeyPartError('key', 'an ETag needs the non-empty key string of fk.keyFor(...)')
  }
  return `W/"${sha256(key).slice(0, 22)}"`
}
