import type { EntityManager } from '@mikro-orm/core'
import { Article, Comment, Group, Membership, User } from './entities.ts'

/** Two users, two articles (one draft in `news`, one published in `tech`), a comment, a group, a membership. */
export async function seed(em: EntityManager): Promise<void> {
  const fork = em.fork()
  const ada = fork.create(User, { id: 1, name: 'Ada' })
  const bob = fork.create(User, { id: 2, name: 'Bob' })
  fork.create(Group, { id: 10, name: 'admins' })
  const draft = fork.create(Article, {
    id: 1,
    title: 'Draft',
    published: false,
    category: 'news',
    author: ada,
  })
  fork.create(Article, { id: 2, title: 'Live', published: true, category: 'tech', author: bob })
  fork.create(Comment, {
    id: 1,
    body: 'first',
    article: draft,
    createdAt: new Date('2026-01-02T03:04:05.678Z'),
  })
  fork.create(Membership, { userId: 1, groupId: 10, role: 'member' })
  await fork.flush()
}
