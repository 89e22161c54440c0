// Proves the checker on hand-made histories (no servers needed): a read after a write returned
// that shows older data is stale with the right age; reads overlapping an in-flight write are
// not; impossible reads are anomalies. run.ts --self-test also runs a live part (no cache must
// give 0 stale reads, a TTL cache must give some).
import {
  type ArticleView,
  Checker,
  type ListItem,
  type Observation,
  Truth,
  type UserView,
} from './checker.ts'
import { articleBody, articleTitle, type Seed, userBio } from './db.ts'

const seed: Seed = {
  sizes: { users: 2, articles: 3, categories: 2 },
  category: Int32Array.from([0, 1, 1, 2]),
  published: Uint8Array.from([0, 1, 1, 1]),
  author: Int32Array.from([0, 1, 2, 1]),
}

const user = (id: number, rev: number): UserView => ({ id, rev, name: `User ${id}`, bio: userBio(id, rev) })
const article = (
  id: number,
  rev: number,
  categoryId: number,
  published: boolean,
  authorRev = 0,
): ArticleView => {
  const authorId = seed.author[id] ?? 1
  return {
    id,
    rev,
    title: articleTitle(id, rev),
    body: articleBody(id),
    categoryId,
    published,
    authorId,
    author: user(authorId, authorRev),
  }
}
const item = (id: number, rev: number): ListItem => ({ id, rev, title: articleTitle(id, rev) })

interface Case {
  name: string
  obs: Observation
  expect: 'fresh' | 'stale' | 'torn' | 'anomaly'
  age?: number
}

/** Runs the cases; returns the failures (empty when the checker is right). */
export function checkerSelfTest(): { passed: number; failures: string[] } {
  const t = new Truth(seed)
  // t=10..20: article 1 retitled (rev 1). t=30..40: article 4 inserted into category 1.
  // t=50..60: article 2 moved from category 1 to 2 (rev 1). t=70..80: user 1 edited (rev 1).
  // t=90..100: article 1 unpublished (rev 2).
  t.endArticle(t.beginArticle(1, 1, true, 10), 20)
  t.endArticle(t.beginArticle(4, 1, true, 30), 40)
  t.endArticle(t.beginArticle(2, 2, true, 50), 60)
  t.endUser(t.beginUser(1, 70), 80)
  t.endArticle(t.beginArticle(1, 1, false, 90), 100)
  const a = (start: number, end: number, value: ArticleView | null): Observation => ({
    kind: 'article',
    start,
    end,
    id: value?.id ?? 1,
    value,
  })
  const list = (start: number, end: number, value: ListItem[]): Observation => ({
    kind: 'list',
    start,
    end,
    category: 1,
    value,
  })
  const count = (start: number, end: number, value: number): Observation => ({
    kind: 'count',
    start,
    end,
    category: 1,
    value,
  })
  const cases: Case[] = [
    { name: 'article before any write', obs: a(5, 6, article(1, 0, 1, true)), expect: 'fresh' },
    {
      name: 'old article after the write returned',
      obs: a(25, 26, article(1, 0, 1, true)),
      expect: 'stale',
      age: 5,
    },
    {
      name: 'old article while the write is in flight',
      obs: a(15, 16, article(1, 0, 1, true)),
      expect: 'fresh',
    },
    {
      name: 'new article while the write is in flight',
      obs: a(15, 16, article(1, 1, 1, true)),
      expect: 'fresh',
    },
    {
      name: 'read that started exactly when the write returned',
      obs: a(20, 21, article(1, 0, 1, true)),
      expect: 'fresh',
    },
    { name: 'article from the future', obs: a(5, 8, article(1, 1, 1, true)), expect: 'anomaly' },
    { name: 'fields that do not match the rev', obs: a(25, 26, article(1, 1, 2, true)), expect: 'anomaly' },
    {
      name: 'fresh article, author older than its edit',
      obs: a(85, 86, article(3, 0, 2, true, 0)),
      expect: 'stale',
      age: 5,
    },
    { name: 'fresh article and author', obs: a(85, 86, article(3, 0, 2, true, 1)), expect: 'fresh' },
    {
      name: 'article two writes behind: age from the first write missed',
      obs: a(105, 106, article(1, 0, 1, true)),
      expect: 'stale',
      age: 85,
    },
    { name: 'list before the insert', obs: list(25, 26, [item(2, 0), item(1, 1)]), expect: 'fresh' },
    {
      name: 'list missing an inserted article',
      obs: list(45, 46, [item(2, 0), item(1, 1)]),
      expect: 'stale',
      age: 5,
    },
    {
      name: 'list during the insert, without it',
      obs: list(35, 36, [item(2, 0), item(1, 1)]),
      expect: 'fresh',
    },
    {
      name: 'list during the insert, with it',
      obs: list(35, 36, [item(4, 0), item(2, 0), item(1, 1)]),
      expect: 'fresh',
    },
    {
      name: 'list keeping an article that moved out',
      obs: list(65, 66, [item(4, 0), item(2, 0), item(1, 1)]),
      expect: 'stale',
      age: 5,
    },
    { name: 'list after the move', obs: list(65, 66, [item(4, 0), item(1, 1)]), expect: 'fresh' },
    {
      name: 'list with a stale member title',
      obs: list(65, 66, [item(4, 0), item(1, 0)]),
      expect: 'stale',
      age: 45,
    },
    {
      name: 'list showing the mover with its new rev but still in the list, during the move',
      obs: list(55, 56, [item(4, 0), item(2, 1), item(1, 1)]),
      expect: 'torn',
    },
    {
      name: 'list keeping an unpublished article',
      obs: list(105, 106, [item(4, 0), item(1, 1)]),
      expect: 'stale',
      age: 5,
    },
    { name: 'list not newest first', obs: list(65, 66, [item(1, 1), item(4, 0)]), expect: 'anomaly' },
    { name: 'count before the insert', obs: count(25, 26, 2), expect: 'fresh' },
    { name: 'count after the insert', obs: count(45, 46, 3), expect: 'fresh' },
    { name: 'count missing the insert', obs: count(45, 46, 2), expect: 'stale', age: 5 },
    { name: 'count during the insert, either value', obs: count(35, 36, 2), expect: 'fresh' },
    { name: 'count during the insert, the other value', obs: count(35, 36, 3), expect: 'fresh' },
    { name: 'count during the move', obs: count(55, 56, 3), expect: 'fresh' },
    { name: 'count after the move, old value', obs: count(65, 66, 3), expect: 'stale', age: 5 },
    { name: 'count impossible in any state', obs: count(55, 56, 5), expect: 'anomaly' },
    {
      name: 'profile after the edit, old rev',
      obs: { kind: 'profile', start: 85, end: 86, id: 1, value: user(1, 0) },
      expect: 'stale',
      age: 5,
    },
    {
      name: 'profile during the edit, old rev',
      obs: { kind: 'profile', start: 75, end: 76, id: 1, value: user(1, 0) },
      expect: 'fresh',
    },
  ]
  const checker = new Checker(t)
  const failures: string[] = []
  for (const c of cases) {
    const v = checker.check(c.obs)
    const got = v.anomaly ? 'anomaly' : v.stale ? 'stale' : v.torn ? 'torn' : 'fresh'
    if (got !== c.expect)
      failures.push(`${c.name}: expected ${c.expect}, got ${got}${v.anomaly ? ` (${v.anomaly})` : ''}`)
    else if (c.age !== undefined && v.age !== c.age)
      failures.push(`${c.name}: expected age ${c.age}, got ${v.age}`)
  }
  return { passed: cases.length - failures.length, failures }
}
