// The read-heavy blog: operation mix, Zipf-distributed keys from a fixed seed, and the concurrent
// workers that drive one contender for one round while recording what the checker needs.
import { performance } from 'node:perf_hooks'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import type { Checker, Observation, StaleStats, Truth } from './checker.ts'
import type { App } from './contenders/types.ts'
import { articleBody, articleTitle, createdAt, type Seed, userBio } from './db.ts'
import { type Counter, counting } from './instrument.ts'

/** A small, fast, seedable PRNG (uniform in [0, 1)). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Zipf(s) over ranks 1..n by inverse CDF (binary search in a precomputed table). */
export class Zipf {
  readonly #cdf: Float64Array
  readonly n: number
  constructor(n: number, s = 0.99) {
    this.n = n
    this.#cdf = new Float64Array(n)
    let sum = 0
    for (let k = 1; k <= n; k++) sum += 1 / k ** s
    let acc = 0
    for (let k = 1; k <= n; k++) {
      acc += 1 / k ** s / sum
      this.#cdf[k - 1] = acc
    }
  }
  /** A rank in 1..n; rank 1 is the most likely. */
  next(rnd: () => number): number {
    const u = rnd()
    let lo = 0
    let hi = this.n - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.#cdf[mid]! < u) lo = mid + 1
      else hi = mid
    }
    return lo + 1
  }
}

/** A fixed random permutation of 1..n, so the hot keys are spread over categories and authors. */
function permutation(n: number, rnd: () => number): Int32Array {
  const p = new Int32Array(n + 1)
  for (let i = 1; i <= n; i++) p[i] = i
  for (let i = n; i > 1; i--) {
    const j = 1 + Math.floor(rnd() * i)
    const t = p[i]!
    p[i] = p[j]!
    p[j] = t
  }
  return p
}

/**
 * The operation mix: 95 % reads (article by id with its author 50 %, newest 20 of a category 25 %,
 * count of a category 10 %, a profile 15 %), 5 % writes (retitle 40 %, publish/unpublish 20 %,
 * move to another category 15 %, insert 15 %, profile edit 10 %). Fractions of reads and of writes.
 */
export const MIX = {
  writeShare: 0.05,
  reads: { article: 0.5, list: 0.25, count: 0.1, profile: 0.15 },
  writes: { retitle: 0.4, publish: 0.2, move: 0.15, insert: 0.15, profile: 0.1 },
} as const

export const WORKERS = 16

/** Key distributions shared by every contender (same seed, same hot keys). */
export class Keys {
  readonly articles: Zipf
  readonly users: Zipf
  readonly categories: Zipf
  readonly articlePerm: Int32Array
  readonly userPerm: Int32Array
  readonly categoryPerm: Int32Array
  readonly seed: Seed
  constructor(seed: Seed, rngSeed: number) {
    this.seed = seed
    const rnd = mulberry32(rngSeed ^ 0xc0ffee)
    const { sizes } = seed
    this.articles = new Zipf(sizes.articles)
    this.users = new Zipf(sizes.users)
    this.categories = new Zipf(sizes.categories)
    this.articlePerm = permutation(sizes.articles, rnd)
    this.userPerm = permutation(sizes.users, rnd)
    this.categoryPerm = permutation(sizes.categories, rnd)
  }
  article(rnd: () => number): number {
    return this.articlePerm[this.articles.next(rnd)]!
  }
  user(rnd: () => number): number {
    return this.userPerm[this.users.next(rnd)]!
  }
  category(rnd: () => number): number {
    return this.categoryPerm[this.categories.next(rnd)]!
  }
}

/** One contender's workload state, kept across its rounds: PRNGs, truth, row locks, next id. */
export class WorkloadState {
  readonly rngs: (() => number)[]
  nextArticleId: number
  readonly writingArticles = new Set<number>()
  readonly writingUsers = new Set<number>()
  writeErrors = 0
  readErrors = 0
  readonly errorSamples: string[] = []
  readonly keys: Keys
  readonly truth: Truth
  constructor(keys: Keys, truth: Truth, rngSeed: number) {
    this.keys = keys
    this.truth = truth
    this.rngs = Array.from({ length: WORKERS }, (_, w) => mulberry32(rngSeed * 7919 + w * 104729 + 1))
    this.nextArticleId = keys.seed.sizes.articles + 1
  }
  noteError(error: unknown): void {
    if (this.errorSamples.length < 5) this.errorSamples.push(String((error as Error)?.stack ?? error))
  }
}

/** How long the requests in flight at the end of a round may take to finish. */
const DRAIN_MS = 30_000

export class RoundTimeout extends Error {
  constructor(ms: number) {
    super(`requests still in flight ${ms} ms after the round started: a request hangs`)
  }
}

export interface RoundStats {
  elapsedMs: number
  reads: number
  writes: number
  readLatency: number[]
  writeLatency: number[]
}

export interface RoundOptions {
  app: App
  state: WorkloadState
  ms: number
  /** Counters for measured reads and writes (warm-up passes throwaway ones). */
  readCounter: Counter
  writeCounter: Counter
  /** Where reads go for checking; undefined during warm-up. */
  observations?: Observation[]
}

type WriteKind = keyof typeof MIX.writes
type ReadKind = keyof typeof MIX.reads

function pick<K extends string>(table: Readonly<Record<K, number>>, u: number): K {
  let acc = 0
  let last: K | undefined
  for (const [k, p] of Object.entries(table) as [K, number][]) {
    acc += p
    last = k
    if (u < acc) return k
  }
  return last!
}

/** Runs WORKERS concurrent request loops against `app` for `ms` milliseconds, then drains. */
export async function runRound(o: RoundOptions): Promise<RoundStats> {
  const { app, state, readCounter, writeCounter, observations } = o
  const { keys, truth } = state
  const readLatency: number[] = []
  const writeLatency: number[] = []
  let reads = 0
  let writes = 0
  const t0 = performance.now()
  const deadline = t0 + o.ms

  async function read(kind: ReadKind, rnd: () => number): Promise<void> {
    let obs: Observation
    const start = performance.now()
    try {
      switch (kind) {
        case 'article': {
          const id = keys.article(rnd)
          const value = await counting(readCounter, () => app.articleById(id))
          obs = { kind, start, end: performance.now(), id, value }
          break
        }
        case 'list': {
          const category = keys.category(rnd)
          const value = await counting(readCounter, () => app.newestOfCategory(category))
          obs = { kind, start, end: performance.now(), category, value }
          break
        }
        case 'count': {
          const category = keys.category(rnd)
          const value = await counting(readCounter, () => app.countOfCategory(category))
          obs = { kind, start, end: performance.now(), category, value }
          break
        }
        case 'profile': {
          const id = keys.user(rnd)
          const value = await counting(readCounter, () => app.profile(id))
          obs = { kind, start, end: performance.now(), id, value }
          break
        }
      }
    } catch (error) {
      state.readErrors++
      state.noteError(error)
      return
    }
    reads++
    readCounter.ops++
    if (observations) {
      readLatency.push(obs.end - obs.start)
      observations.push(obs)
    }
  }

  /** A row no other write is touching (rows are written one write at a time, see checker.ts). */
  function freeArticle(rnd: () => number): number | undefined {
    for (let i = 0; i < 8; i++) {
      const id = keys.article(rnd)
      if (!state.writingArticles.has(id)) return id
    }
    return undefined
  }

  async function write(kind: WriteKind, rnd: () => number): Promise<void> {
    if (kind === 'profile') {
      let id: number | undefined
      for (let i = 0; i < 8 && id === undefined; i++) {
        const u = keys.user(rnd)
        if (!state.writingUsers.has(u)) id = u
      }
      if (id === undefined) return
      state.writingUsers.add(id)
      const start = performance.now()
      const v = truth.beginUser(id, start)
      try {
        await counting(writeCounter, () => app.editProfile({ id: id!, bio: userBio(id!, v.rev), rev: v.rev }))
        const end = performance.now()
        truth.endUser(v, end)
        done(start, end)
      } catch (error) {
        state.writeErrors++
        state.noteError(error)
      } finally {
        state.writingUsers.delete(id)
      }
      return
    }
    let id: number
    let cat: number
    let pub: boolean
    let call: () => Promise<void>
    let rev: number
    if (kind === 'insert') {
      id = state.nextArticleId++
      cat = keys.category(rnd)
      pub = true
      rev = 0
      const authorId = keys.user(rnd)
      call = () =>
        app.insert({
          id,
          title: articleTitle(id, 0),
          body: articleBody(id),
          rev: 0,
          published: true,
          categoryId: cat,
          authorId,
          createdAt: createdAt(id),
        })
    } else {
      const found = freeArticle(rnd)
      if (found === undefined) return
      id = found
      const before = truth.latest(id)!
      rev = before.rev + 1
      cat = before.cat
      pub = before.pub
      if (kind === 'retitle') {
        call = () => app.retitle({ id, title: articleTitle(id, rev), rev, categoryId: cat, published: pub })
      } else if (kind === 'publish') {
        pub = !pub
        call = () =>
          app.setPublished({ id, title: articleTitle(id, rev), rev, categoryId: cat, published: pub })
      } else {
        const from = cat
        const categories = keys.seed.sizes.categories
        cat = ((from - 1 + 1 + Math.floor(rnd() * (categories - 1))) % categories) + 1
        call = () => app.move({ id, title: articleTitle(id, rev), rev, from, to: cat, published: pub })
      }
    }
    state.writingArticles.add(id)
    const start = performance.now()
    const v = truth.beginArticle(id, cat, pub, start)
    if (v.rev !== rev) throw new Error(`harness: article ${id} expected rev ${rev}, chain says ${v.rev}`)
    try {
      await counting(writeCounter, call)
      const end = performance.now()
      truth.endArticle(v, end)
      done(start, end)
    } catch (error) {
      // The row's state is unknown now: the version stays "in flight" forever (never a floor).
      state.writeErrors++
      state.noteError(error)
    } finally {
      state.writingArticles.delete(id)
    }
  }

  function done(start: number, end: number): void {
    writes++
    writeCounter.ops++
    if (observations) writeLatency.push(end - start)
  }

  async function worker(w: number): Promise<void> {
    const rnd = state.rngs[w]!
    while (performance.now() < deadline) {
      // Each request starts from the event loop, as one arriving on a socket would: a cache that
      // answers from memory must not starve the others' I/O (nor the writes' callbacks).
      await yieldToLoop()
      const u = rnd()
      if (u < MIX.writeShare) await write(pick(MIX.writes, rnd()), rnd)
      else await read(pick(MIX.reads, rnd()), rnd)
    }
  }

  // A contender whose request never settles must not stall the whole run.
  let timer: NodeJS.Timeout | undefined
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RoundTimeout(o.ms + DRAIN_MS)), o.ms + DRAIN_MS)
  })
  try {
    await Promise.race([Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w))), hung])
  } finally {
    clearTimeout(timer)
  }
  return { elapsedMs: performance.now() - t0, reads, writes, readLatency, writeLatency }
}

/** Checks a round's reads (after the round, outside the timing). */
export function checkAll(checker: Checker, observations: readonly Observation[], into: StaleStats): void {
  for (const o of observations) into.add(o, checker.check(o))
}
