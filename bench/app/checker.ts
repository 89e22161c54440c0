// The staleness oracle.
//
// Truth: every write sets a new `rev` on the row it touches (the title carries it), and writes to
// one row never overlap (the workload holds a per-row lock), so the versions of a row form a chain
// `rev 0, 1, 2, …`. For each version the harness records the state it establishes (category,
// published) and two instants on one monotonic clock: `start` (just before the write was called)
// and `end` (just after its call returned; Infinity while in flight or if it failed).
//
// A read R runs from R.start (just before the call) to R.end (just after it returned).
// - The floor of a row at R.start is its last version whose write returned before R.start: R must
//   not show anything older (DESIGN rule 2: "a read that starts after a write's call returned sees it").
// - Versions after the floor whose write started before R.end were in flight during R: R may show
//   the floor or any of them. Their set is the row's *admissible* states.
// - A read is **stale** when no choice of admissible states explains it. Its **age** is
//   R.start − the return time of the first write it missed.
//
// Per read:
// - article by id: its rev must be admissible (older than the floor: stale); its category,
//   published flag and title must be those of that rev; its author's rev likewise (users are rows
//   with their own chain).
// - newest 20 published of category c (ordered by creation, which never changes): each member's
//   rev admissible; each member must be in c and published in some admissible state (else stale:
//   it left before R started); every article that is in c and published in *all* its admissible
//   states and ranks above the last member (or anywhere, when fewer than 20 came back) must be in
//   the list (else stale: it entered before R started). A member shown with an in-flight rev
//   whose state is out of c while another admissible state is in c is "torn" (not stale: the
//   write was in flight), counted separately.
// - count of published articles in c: the count at R.start (from the floors) plus, for every row
//   with a write in flight during R, the range its admissible states allow. Outside the range:
//   stale; the age is taken from the last time the floor count equalled the value read.
// - profile: the user's rev must be admissible.
// A read that shows something no admissible state explains in the other direction (a rev whose
// write started after the read returned, a title that does not match its rev) is an *anomaly*: a
// bug in a contender or in the harness. The run prints them and `--self-test` fails on them.
import { articleBody, articleTitle, type Seed, userBio } from './db.ts'

export interface ArticleVersion {
  readonly id: number
  readonly rev: number
  readonly cat: number
  readonly pub: boolean
  readonly start: number
  end: number
}

export interface UserVersion {
  readonly id: number
  readonly rev: number
  readonly start: number
  end: number
}

export interface ArticleView {
  id: number
  rev: number
  title: string
  body: string
  categoryId: number
  published: boolean
  authorId: number
  author: UserView | null
}
export interface ListItem {
  id: number
  rev: number
  title: string
}
export interface UserView {
  id: number
  rev: number
  name: string
  bio: string
}

export type Observation =
  | { kind: 'article'; start: number; end: number; id: number; value: ArticleView | null }
  | { kind: 'list'; start: number; end: number; category: number; value: ListItem[] }
  | { kind: 'count'; start: number; end: number; category: number; value: number }
  | { kind: 'profile'; start: number; end: number; id: number; value: UserView | null }

export type ReadKind = Observation['kind']
export const READ_KINDS: readonly ReadKind[] = ['article', 'list', 'count', 'profile']

export interface Verdict {
  stale: boolean
  /** ms between the read's start and the return of the first write it missed. */
  age?: number
  torn?: boolean
  anomaly?: string
}

const FRESH: Verdict = { stale: false }
let debugCount = 0
export const LIST_SIZE = 20

/** Sorted insert into an ascending array without duplicates. */
function insertSorted(xs: number[], x: number): void {
  let lo = 0
  let hi = xs.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (xs[mid]! < x) lo = mid + 1
    else hi = mid
  }
  if (xs[lo] !== x) xs.splice(lo, 0, x)
}

/** What the database holds, version by version, as established by the workload's writes. */
export class Truth {
  readonly articles: ArticleVersion[][] = []
  readonly users: UserVersion[][] = []
  /** Ids of articles that were ever in a category, ascending, per category. */
  readonly everIn: number[][] = []
  /** Per category: instants at which its published count changed (a write returned) and the counts. */
  readonly countTimes: number[][] = []
  readonly countValues: number[][] = []
  /** Article versions in the order their writes started (the seed excluded). */
  readonly log: ArticleVersion[] = []
  /** Longest write seen so far (ms), to bound the scan for writes overlapping a read. */
  maxWriteMs = 0

  constructor(seed: Seed) {
    const { sizes } = seed
    for (let c = 0; c <= sizes.categories; c++) {
      this.everIn.push([])
      this.countTimes.push([Number.NEGATIVE_INFINITY])
      this.countValues.push([0])
    }
    for (let id = 1; id <= sizes.articles; id++) {
      const v: ArticleVersion = {
        id,
        rev: 0,
        cat: seed.category[id]!,
        pub: seed.published[id] === 1,
        start: Number.NEGATIVE_INFINITY,
        end: Number.NEGATIVE_INFINITY,
      }
      this.articles[id] = [v]
      this.everIn[v.cat]!.push(id)
      if (v.pub) this.countValues[v.cat]![0]!++
    }
    for (let id = 1; id <= sizes.users; id++) {
      this.users[id] = [{ id, rev: 0, start: Number.NEGATIVE_INFINITY, end: Number.NEGATIVE_INFINITY }]
    }
  }

  /** The newest version of an article (its state in the database once in-flight writes land). */
  latest(id: number): ArticleVersion | undefined {
    const chain = this.articles[id]
    return chain?.[chain.length - 1]
  }

  latestUser(id: number): UserVersion | undefined {
    const chain = this.users[id]
    return chain?.[chain.length - 1]
  }

  /** Records a write of an article about to be called; `state` is the row after it. */
  beginArticle(id: number, cat: number, pub: boolean, start: number): ArticleVersion {
    if (!this.articles[id]) this.articles[id] = []
    const chain = this.articles[id]
    const v: ArticleVersion = { id, rev: chain.length, cat, pub, start, end: Number.POSITIVE_INFINITY }
    chain.push(v)
    insertSorted(this.everIn[cat]!, id)
    this.log.push(v)
    return v
  }

  /** The write of `v` returned at `end`: its state is now the floor for reads that start later. */
  endArticle(v: ArticleVersion, end: number): void {
    v.end = end
    this.maxWriteMs = Math.max(this.maxWriteMs, end - v.start)
    const prev = this.articles[v.id]![v.rev - 1]
    const was = prev?.pub ? prev.cat : 0
    const now = v.pub ? v.cat : 0
    if (was === now) return
    if (was) this.#step(was, end, -1)
    if (now) this.#step(now, end, +1)
  }

  #step(cat: number, at: number, delta: number): void {
    const times = this.countTimes[cat]!
    const values = this.countValues[cat]!
    times.push(at)
    values.push(values[values.length - 1]! + delta)
  }

  beginUser(id: number, start: number): UserVersion {
    const chain = this.users[id]!
    const v: UserVersion = { id, rev: chain.length, start, end: Number.POSITIVE_INFINITY }
    chain.push(v)
    return v
  }

  endUser(v: UserVersion, end: number): void {
    v.end = end
    this.maxWriteMs = Math.max(this.maxWriteMs, end - v.start)
  }
}

/** Index of the last version whose write returned before `t`, or -1. */
function floorOf(chain: readonly { end: number }[], t: number): number {
  for (let i = chain.length - 1; i >= 0; i--) if (chain[i]!.end < t) return i
  return -1
}

/** Index of the last version whose write started before `t`. */
function lastStartedBefore(chain: readonly { start: number }[], t: number): number {
  let i = chain.length - 1
  while (i >= 0 && chain[i]!.start >= t) i--
  return i
}

const inCat = (v: ArticleVersion | undefined, c: number): boolean => v?.pub === true && v.cat === c

export class Checker {
  readonly truth: Truth
  constructor(truth: Truth) {
    this.truth = truth
  }

  check(o: Observation): Verdict {
    switch (o.kind) {
      case 'article':
        return this.#article(o.id, o.start, o.end, o.value)
      case 'profile':
        return this.#user(o.id, o.start, o.end, o.value)
      case 'list':
        return this.#list(o.category, o.start, o.end, o.value)
      case 'count':
        return this.#count(o.category, o.start, o.end, o.value)
    }
  }

  #user(id: number, start: number, end: number, view: UserView | null): Verdict {
    const chain = this.truth.users[id]
    if (!chain) return { stale: false, anomaly: `user ${id} does not exist` }
    if (!view) return { stale: false, anomaly: `user ${id} not found` }
    const f = floorOf(chain, start)
    const rev = view.rev
    if (rev < f) return { stale: true, age: start - chain[rev + 1]!.end }
    if (rev >= chain.length || chain[rev]!.start >= end)
      return { stale: false, anomaly: `user ${id} rev ${rev} is from the future` }
    if (view.bio !== userBio(id, rev))
      return { stale: false, anomaly: `user ${id} bio does not match rev ${rev}` }
    return FRESH
  }

  #article(id: number, start: number, end: number, view: ArticleView | null): Verdict {
    const chain = this.truth.articles[id]
    if (!chain) return view ? { stale: false, anomaly: `article ${id} does not exist` } : FRESH
    const f = floorOf(chain, start)
    if (!view) {
      if (f < 0) return FRESH
      if (chain[0]!.end === Number.NEGATIVE_INFINITY)
        return { stale: false, anomaly: `article ${id} not found` }
      return { stale: true, age: start - chain[0]!.end }
    }
    const rev = view.rev
    let verdict: Verdict = FRESH
    if (rev < f) verdict = { stale: true, age: start - chain[rev + 1]!.end }
    else if (rev >= chain.length || chain[rev]!.start >= end)
      return { stale: false, anomaly: `article ${id} rev ${rev} is from the future` }
    const v = chain[rev]!
    if (
      view.title !== articleTitle(id, rev) ||
      view.categoryId !== v.cat ||
      view.published !== v.pub ||
      view.body !== articleBody(id)
    )
      return { stale: false, anomaly: `article ${id} fields do not match rev ${rev}` }
    if (!view.author || view.author.id !== view.authorId)
      return { stale: false, anomaly: `article ${id} came without its author` }
    const author = this.#user(view.authorId, start, end, view.author)
    if (author.anomaly) return author
    if (process.env.FK_BENCH_DEBUG && (author.stale || verdict.stale) && debugCount++ < 8)
      console.error(
        `[stale] article ${id} rev ${rev} floor ${f} articleStale=${verdict.stale} authorStale=${author.stale} author ${view.authorId} rev ${view.author.rev} chain ${JSON.stringify(this.truth.users[view.authorId]!.map((c) => [Math.round(c.start - start), Math.round(c.end - start)]))}`,
      )
    if (author.stale)
      return verdict.stale ? { stale: true, age: Math.max(verdict.age!, author.age!) } : author
    return verdict
  }

  #list(c: number, start: number, end: number, items: ListItem[]): Verdict {
    const t = this.truth
    if (items.length > LIST_SIZE) return { stale: false, anomaly: `list of ${c} has ${items.length} items` }
    let age = Number.NEGATIVE_INFINITY
    let torn = false
    const shown = new Set<number>()
    let prevId = Number.POSITIVE_INFINITY
    for (const item of items) {
      if (item.id >= prevId) return { stale: false, anomaly: `list of ${c} is not newest first` }
      prevId = item.id
      shown.add(item.id)
      const chain = t.articles[item.id]
      if (!chain) return { stale: false, anomaly: `list of ${c} shows unknown article ${item.id}` }
      const f = floorOf(chain, start)
      const last = lastStartedBefore(chain, end)
      const rev = item.rev
      if (rev > last || rev >= chain.length)
        return { stale: false, anomaly: `list of ${c}: article ${item.id} rev ${rev} is from the future` }
      if (item.title !== articleTitle(item.id, rev))
        return { stale: false, anomaly: `list of ${c}: article ${item.id} title does not match rev ${rev}` }
      if (rev < f) {
        age = Math.max(age, start - chain[rev + 1]!.end)
        continue
      }
      if (inCat(chain[rev], c)) continue
      // Shown with an admissible rev whose state is not in the list: fine only if the list's
      // membership can come from another admissible state (a write in flight).
      let somewhereIn = false
      for (let k = Math.max(f, 0); k <= last; k++) if (inCat(chain[k], c)) somewhereIn = true
      if (somewhereIn) {
        torn = true
        continue
      }
      // It left before the read started: find the write that took it out.
      let k = f
      while (k > 0 && !inCat(chain[k - 1], c)) k--
      if (k <= 0 || chain[k]!.end === Number.NEGATIVE_INFINITY)
        return { stale: false, anomaly: `list of ${c} shows article ${item.id}, never in it` }
      age = Math.max(age, start - chain[k]!.end)
    }
    // Missing members: in c and published in every admissible state, ranked above the last shown.
    const lowest = items.length === LIST_SIZE ? items[items.length - 1]!.id : 0
    const ever = t.everIn[c]!
    for (let i = ever.length - 1; i >= 0 && ever[i]! > lowest; i--) {
      const id = ever[i]!
      if (shown.has(id)) continue
      const chain = t.articles[id]!
      const f = floorOf(chain, start)
      if (f < 0) continue
      const last = lastStartedBefore(chain, end)
      let always = true
      for (let k = f; k <= last && always; k++) always = inCat(chain[k], c)
      if (!always) continue
      let k = f
      while (k > 0 && inCat(chain[k - 1], c)) k--
      if (chain[k]!.end === Number.NEGATIVE_INFINITY)
        return { stale: false, anomaly: `list of ${c} misses article ${id}, in it since the seed` }
      age = Math.max(age, start - chain[k]!.end)
    }
    if (age > Number.NEGATIVE_INFINITY) return { stale: true, age }
    return torn ? { stale: false, torn: true } : FRESH
  }

  #count(c: number, start: number, end: number, n: number): Verdict {
    const t = this.truth
    const times = t.countTimes[c]!
    const values = t.countValues[c]!
    let s = times.length - 1
    while (s > 0 && times[s]! >= start) s--
    const base = values[s]!
    // Rows with a write in flight during the read: each may count as any of its admissible states.
    let lo = 0
    let hi = 0
    const seen = new Set<number>()
    const log = t.log
    let i = log.length - 1
    while (i >= 0 && log[i]!.start >= end) i--
    for (; i >= 0 && log[i]!.start >= start - t.maxWriteMs - 1; i--) {
      const v = log[i]!
      if (v.end < start || seen.has(v.id)) continue
      seen.add(v.id)
      const chain = t.articles[v.id]!
      const f = floorOf(chain, start)
      const last = lastStartedBefore(chain, end)
      const floorIn = f >= 0 && inCat(chain[f], c) ? 1 : 0
      let min = floorIn
      let max = floorIn
      for (let k = f + 1; k <= last; k++) {
        const x = inCat(chain[k], c) ? 1 : 0
        min = Math.min(min, x)
        max = Math.max(max, x)
      }
      lo += min - floorIn
      hi += max - floorIn
    }
    if (n >= base + lo && n <= base + hi) return FRESH
    // The first write it missed: the step right after the last time the count was what it read.
    let k = s
    while (k >= 0 && values[k] !== n) k--
    if (k < 0) return { stale: false, anomaly: `count of ${c} is ${n}, never true before the read` }
    return { stale: true, age: start - times[k + 1]! }
  }
}

/** Stale reads and their ages, per read kind. */
export class StaleStats {
  reads = 0
  stale = 0
  torn = 0
  readonly byKind = new Map<ReadKind, { reads: number; stale: number }>(
    READ_KINDS.map((k) => [k, { reads: 0, stale: 0 }]),
  )
  readonly ages: number[] = []
  readonly anomalies: string[] = []
  anomalyCount = 0

  add(o: Observation, v: Verdict): void {
    this.reads++
    const k = this.byKind.get(o.kind)!
    k.reads++
    if (v.anomaly) {
      this.anomalyCount++
      if (this.anomalies.length < 10) this.anomalies.push(v.anomaly)
    }
    if (v.torn) this.torn++
    if (v.stale) {
      this.stale++
      k.stale++
      this.ages.push(v.age!)
    }
  }
}
