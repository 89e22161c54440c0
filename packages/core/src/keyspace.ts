import { canonical, segment } from './encoding.ts'

/**
 * Store key names of one namespace. Every key starts with the hash tag `{namespace}`, so all keys of
 * a namespace live in one Redis Cluster slot and every multi-key script stays valid there.
 *
 * Tokens are shared by all versions (a write by new code must invalidate old code's values);
 * values, leases and snapshots live under their version so versions never read each other's data.
 */
export class Keyspace {
  readonly tag: string
  readonly versionPrefix: string
  readonly epoch: string
  readonly all: string
  readonly versions: string
  /** Pub/sub channel that receives the keys of every bump (newline-separated, prefixed as stored). */
  readonly bumps: string

  constructor(
    namespace: string,
    readonly version: string,
  ) {
    this.tag = `{${segment(namespace)}}`
    this.versionPrefix = this.versionPrefixOf(version)
    this.epoch = `${this.tag}:e`
    this.all = `${this.tag}:g`
    this.versions = `${this.tag}:versions`
    this.bumps = `${this.tag}:bumps`
  }

  versionPrefixOf(version: string): string {
    return `${this.tag}:@${segment(version)}:`
  }
  table(table: string): string {
    return `${this.tag}:t:${segment(table)}`
  }
  bulk(table: string): string {
    return `${this.tag}:b:${segment(table)}`
  }
  row(table: string, pk: string): string {
    return `${this.tag}:r:${segment(table)}:${segment(pk)}`
  }
  tagKey(name: string): string {
    return `${this.tag}:x:${segment(name)}`
  }
  scopeWide(table: string, fields: readonly string[]): string {
    return `${this.tag}:w:${segment(table)}:${segment(canonical(fields))}`
  }
  scopeCondition(table: string, fields: readonly string[], values: readonly string[]): string {
    return `${this.tag}:s:${segment(table)}:${segment(canonical(fields))}:${segment(canonical(values))}`
  }
  value(body: string): string {
    return `${this.versionPrefix}v:${body}`
  }
  lease(body: string): string {
    return `${this.versionPrefix}l:${body}`
  }
  collection(name: string, version = this.version): string {
    return `${this.versionPrefixOf(version)}c:${segment(name)}`
  }
}
