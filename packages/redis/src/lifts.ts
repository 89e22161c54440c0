// Lifts of the Redis store (standalone): queued for this process's next read (a LIFT in the same
// write) or bump (inside its BUMP script), see docs/design.md, "Commits that do not wait for the store".
import { nonce } from './nonce.ts'

/** The 1-based place of `item` in `list`, appended when absent (a script's counter index). */
export const placeOf = (list: string[], item: string) => {
  const at = list.indexOf(item)
  return at < 0 ? list.push(item) : at + 1
}

/** A lift waiting to go out with this process's next read or bump (standalone). */
export interface QueuedLift {
  /** Prefixed token keys. */
  readonly keys: readonly string[]
  /** The prefixed bump counter of each key's group, if it has one. */
  readonly counters: readonly (string | undefined)[]
  /** The deadline of the caller's own fence on each key ('' none). */
  readonly ends: readonly string[]
  readonly ttl: number
  done(error: Error | null): void
}

/**
 * Lifts folded into a bump of `own` keys (see `BUMP`): the deadlines each ends on a key
 * bumped here, and the keys only lifted, with their counters placed in `counters`.
 */
export function rideAlong(lifts: readonly QueuedLift[], own: readonly string[], counters: string[]) {
  const ownEnds = own.map(() => '')
  const at = new Map<string, number>()
  for (let i = 0; i < own.length; i++) at.set(own[i]!, i)
  const keys: string[] = []
  const counterIdx: number[] = []
  const ends: string[] = []
  const only = new Map<string, number>()
  const add = (list: string[], i: number, d: string) => {
    list[i] = list[i] === '' ? d : `${list[i]}.${d}`
  }
  for (const lift of lifts) {
    lift.keys.forEach((k, u) => {
      const d = lift.ends[u]!
      if (d === '') return
      const i = at.get(k)
      if (i !== undefined) {
        add(ownEnds, i, d)
        return
      }
      let j = only.get(k)
      if (j === undefined) {
        j = keys.push(k) - 1
        only.set(k, j)
        const c = lift.counters[u]
        counterIdx.push(c === undefined ? 0 : placeOf(counters, c))
        ends.push('')
      }
      add(ends, j, d)
    })
  }
  return { ownEnds, keys, counterIdx, ends }
}

/** Arguments of `LIFT` for one slot's keys. */
export function liftArgs(lift: Omit<QueuedLift, 'done'>): unknown[] {
  const counters: string[] = []
  const counterIdx = lift.counters.map((c) => (c === undefined ? 0 : placeOf(counters, c)))
  return [
    lift.keys.length + counters.length,
    ...lift.keys,
    ...counters,
    Math.ceil(lift.ttl),
    nonce(),
    lift.keys.length,
    counters.length,
    ...counterIdx,
    ...lift.ends,
  ]
}
