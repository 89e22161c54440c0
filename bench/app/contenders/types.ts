// The interface every contender implements, and what the harness gives it.
import type { ArticleView, ListItem, UserView } from '../checker.ts'
import type { Seed } from '../db.ts'

export type { ArticleView, ListItem, UserView }

export type Orm = 'typeorm' | 'prisma' | 'mikro-orm'

export interface ContenderContext {
  /** This contender's own database (a copy of the seeded template). */
  readonly dbUrl: string
  /** This contender's own Redis logical database (`redis://host:port/N`). */
  readonly redisUrl: string
  /** Database connections of the contender's pool. */
  readonly pool: number
  /** Seconds a TTL cache keeps an entry. */
  readonly ttl: number
  /** Unique per run and contender: key prefixes and freshkey namespaces. */
  readonly namespace: string
  readonly seed: Seed
}

/** An article write: every write sets a new rev and the title that carries it. */
export interface ArticleWrite {
  readonly id: number
  readonly rev: number
  readonly title: string
  /** The category after the write (unchanged except for a move). */
  readonly categoryId: number
  /** Published after the write. */
  readonly published: boolean
}

export interface MoveWrite extends Omit<ArticleWrite, 'categoryId'> {
  readonly from: number
  readonly to: number
}

export interface NewArticle {
  readonly id: number
  readonly title: string
  readonly body: string
  readonly rev: number
  readonly published: boolean
  readonly categoryId: number
  readonly authorId: number
  readonly createdAt: Date
}

export interface ProfileWrite {
  readonly id: number
  readonly bio: string
  readonly rev: number
}

/** The blog's requests, as an app would serve them. Results are plain views (checker.ts). */
export interface Reads {
  /** An article with its author. */
  articleById(id: number): Promise<ArticleView | null>
  /** The 20 newest published articles of a category (id, rev, title), newest first. */
  newestOfCategory(categoryId: number): Promise<ListItem[]>
  /** How many published articles a category has. */
  countOfCategory(categoryId: number): Promise<number>
  /** A user's profile. */
  profile(userId: number): Promise<UserView | null>
}

export interface Writes {
  /** Sets title and rev. */
  retitle(w: ArticleWrite): Promise<void>
  /** Sets category, title and rev. */
  move(w: MoveWrite): Promise<void>
  /** Sets published, title and rev. */
  setPublished(w: ArticleWrite): Promise<void>
  insert(a: NewArticle): Promise<void>
  /** Sets bio and rev. */
  editProfile(w: ProfileWrite): Promise<void>
}

export interface App extends Reads, Writes {
  close(): Promise<void>
}

/**
 * Loaders an app would write for a two-step cache (ids, then members): what today's freshkey
 * `fk.wrap` contenders need because their dependencies are declared before the load.
 */
export interface Loaders {
  /** The article row alone (no author). */
  articleRow(id: number): Promise<Omit<ArticleView, 'author'> | null>
  /** Ids of the 20 newest published articles of a category, newest first. */
  newestIds(categoryId: number): Promise<number[]>
  /** These articles as list items, in this order. */
  listItems(ids: readonly number[]): Promise<ListItem[]>
}

export interface BaseApp extends App, Loaders {}

export interface Contender {
  /** Unique name, used by `--only`. */
  readonly name: string
  readonly orm: Orm
  readonly family: 'no cache' | 'freshkey' | 'peer' | 'self-test'
  /** One line: library, version and configuration, for the report. */
  readonly config: string
  /** Why it cannot run in this build (then it is skipped and listed), or undefined. */
  unavailable?(): string | undefined
  /** True when its invalidation SCANs its Redis database (it then gets one to itself). */
  readonly scansRedis?: boolean
  open(ctx: ContenderContext): Promise<App>
}
