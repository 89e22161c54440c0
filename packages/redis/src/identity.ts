import { createHash } from 'node:crypto'
import type { Conn } from './client.ts'

interface Known {
  readonly epoch: number
  readonly id: string
}

/**
 * Which server memory each connection talks to (DESIGN rule 9). After every `ready`, the store
 * asks the server for its `run_id` (a restart or another server changes it) and whether it is a
 * master; an answer counts only for the connection it was asked on (ioredis `connectionEpoch`).
 * Until it is known, the generation is `''`: trust nothing.
 */
export class Identities {
  readonly #known = new WeakMap<object, Known>()
  /** Connections whose server said it is a replica (for the connection epoch recorded). */
  readonly #replicas = new WeakMap<object, number>()
  readonly #watched = new WeakSet<object>()
  readonly #epochs = new WeakMap<object, number>()
  readonly #digests = new Map<string, string>()

  /** Follows a connection's `ready` events. */
  watch(node: Conn): void {
    if (this.#watched.has(node)) return
    this.#watched.add(node)
    if (typeof node.connectionEpoch !== 'number') {
      // A client without connectionEpoch: count connects ourselves (conservative: on every close).
      this.#epochs.set(node, 0)
      const bump = () => this.#epochs.set(node, (this.#epochs.get(node) ?? 0) + 1)
      node.on('close', bump)
      node.on('connecting', bump)
    }
    node.on('ready', () => this.learn(node))
    if (node.status === 'ready') this.learn(node)
  }

  #epoch(node: Conn): number {
    return typeof node.connectionEpoch === 'number' ? node.connectionEpoch : (this.#epochs.get(node) ?? -1)
  }

  /** Asks the server who it is; resolves when the answer is recorded (or ignored). */
  async learn(node: Conn): Promise<void> {
    const epoch = this.#epoch(node)
    let text: string
    try {
      text = String(await node.info())
    } catch {
      this.#known.delete(node)
      return
    }
    if (this.#epoch(node) !== epoch || node.status !== 'ready') return
    const id = /run_id:([0-9a-f]+)/.exec(text)?.[1]
    const role = /role:(\w+)/.exec(text)?.[1]
    if (id !== undefined && role === 'master') {
      this.#known.set(node, { epoch, id: id.slice(0, 16) })
      this.#replicas.delete(node)
    } else {
      this.#known.delete(node)
      if (role === 'slave') this.#replicas.set(node, epoch)
    }
  }

  /** True when this connection's server said it is a replica: nothing may be read from it. */
  replica(node: Conn): boolean {
    const epoch = this.#replicas.get(node)
    return epoch !== undefined && epoch === this.#epoch(node)
  }

  /** The run id of the server this connection talks to now, if known and a master. */
  of(node: Conn): string | undefined {
    const k = this.#known.get(node)
    return k !== undefined && k.epoch === this.#epoch(node) && node.status === 'ready' ? k.id : undefined
  }

  /** One generation for a set of masters (a Cluster): any member changing changes it. */
  combine(ids: string[]): string {
    if (ids.length === 1) return ids[0]!
    ids.sort()
    const joined = ids.join(',')
    let digest = this.#digests.get(joined)
    if (digest === undefined) {
      digest = createHash('sha256').update(joined).digest('hex').slice(0, 16)
      if (this.#digests.size > 1000) this.#digests.clear()
      this.#digests.set(joined, digest)
    }
    return digest
  }
}
