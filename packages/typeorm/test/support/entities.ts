import 'reflect-metadata'
import { Scope } from '@freshkey/core'
import {
  Column,
  DeleteDateColumn,
  Entity,
  EntitySchema,
  JoinColumn,
  JoinTable,
  ManyToMany,
  ManyToOne,
  OneToMany,
  PrimaryColumn,
  PrimaryGeneratedColumn,
} from 'typeorm'

// The blog schema of @freshkey/test-suite (adapter-driver.ts) with deliberately custom table and column names,
// plus what only TypeORM has: soft deletes, a junction table, a cascade, an EntitySchema without a class.

@Entity({ name: 'app_users' })
export class User {
  @PrimaryColumn('integer') id!: number
  @Column('varchar') name!: string
  @OneToMany(
    () => Article,
    (a) => a.author,
  )
  articles?: Article[]
}

@Entity({ name: 'tags' })
export class Tag {
  @PrimaryGeneratedColumn('increment') id!: number
  @Column('varchar') name!: string
}

@Scope(['published', 'category'])
@Entity({ name: 'blog_articles' })
export class Article {
  @PrimaryColumn('integer') id!: number
  @Column('varchar') title!: string
  @Column('boolean') published!: boolean
  @Column('varchar') category!: string
  @Column({ type: 'integer', name: 'author_id' }) authorId!: number
  @ManyToOne(
    () => User,
    (u) => u.articles,
    { onDelete: 'CASCADE' },
  )
  @JoinColumn({ name: 'author_id' })
  author?: User
  @DeleteDateColumn({ name: 'deleted_at', nullable: true }) deletedAt?: Date | null
  @ManyToMany(() => Tag)
  @JoinTable({
    name: 'article_tags',
    joinColumn: { name: 'article_id' },
    inverseJoinColumn: { name: 'tag_id' },
  })
  tags?: Tag[]
}

@Entity({ name: 'memberships' })
export class Membership {
  @PrimaryColumn({ type: 'integer', name: 'user_id' }) userId!: number
  @PrimaryColumn({ type: 'integer', name: 'group_id' }) groupId!: number
  @Column('varchar') role!: string
}

/** An entity declared with EntitySchema and no class: its records are plain objects. */
export interface CommentRow {
  id: number
  body: string
  articleId: number
}

export const CommentSchema = new EntitySchema<CommentRow>({
  name: 'Comment',
  tableName: 'article_comments',
  columns: {
    id: { type: 'integer', primary: true },
    body: { type: 'varchar' },
    articleId: { type: 'integer', name: 'article_id' },
  },
})

export const entities = [User, Tag, Article, Membership, CommentSchema]
