// Placeholder: the synchronized collection (issue 8) is being written in this file.
import type { Freshkey } from './freshkey.ts'

/** Options of `fk.collection()`. */
export interface CollectionOptions<K, V, Views extends Record<string, (items: ReadonlyMap<K, V>) => unknown>> {
  name: string
  deps: readonly unknown[]
  load: () => Promise<Map<K, V>> | Map<K, V>
  views?: Views
  checkInterval?: number
}

export class Collection<K, V, Views extends Record<string, (items: ReadonlyMap<K, V>) => unknown>> {
  constructor(fk: Freshkey, options: CollectionOptions<K, V, Views>) {
    void fk
    void options
    throw new Error('not implemented yet')
  }
}
