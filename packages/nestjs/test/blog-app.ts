import 'reflect-metadata'
import { dep, type Freshkey } from '@freshkey/core'
import { Cached, Etag, InjectFreshkey } from '@freshkey/nestjs'
import { Controller, Get, HttpCode, Injectable, Module, NotFoundException, Param, Post } from '@nestjs/common'

/** The "database": posts by id, and how often each was read. */
export class Posts {
  readonly rows = new Map<string, { id: string; title: string }>([
    ['1', { id: '1', title: 'Hello' }],
    ['2', { id: '2', title: 'Tokens' }],
  ])
  readonly reads = new Map<string, number>()
  find(id: string) {
    this.reads.set(id, (this.reads.get(id) ?? 0) + 1)
    return this.rows.get(id)
  }
}

@Injectable()
export class PostsService {
  constructor(
    readonly posts: Posts,
    @InjectFreshkey() readonly fk: Freshkey,
  ) {}

  @Cached({ ttl: 60, deps: (id: string) => [dep.row('posts', id)] })
  async findOne(id: string) {
    return this.posts.find(id) ?? null
  }

  @Cached({ key: 'all-titles', deps: () => [dep.table('posts')] })
  async titles() {
    return [...this.posts.rows.values()].map((p) => p.title)
  }

  async rename(id: string, title: string) {
    this.posts.rows.set(id, { id, title })
    await this.fk.invalidate(dep.row('posts', id))
  }
}

@Controller('posts')
export class PostsController {
  constructor(private readonly service: PostsService) {}

  @Get(':id')
  @Etag((req: { params: { id: string } }) => [dep.row('posts', req.params.id), 'post-json'])
  async findOne(@Param('id') id: string) {
    const post = await this.service.findOne(id)
    if (!post) throw new NotFoundException()
    return post
  }

  // @Cached() above the route decorator: the route metadata must survive the replacement.
  @Cached({ deps: (id: string) => [dep.row('posts', id)] })
  @Get(':id/title')
  async title(@Param('id') id: string) {
    return { title: this.service.posts.find(id)?.title ?? null }
  }

  @Post(':id/rename/:title')
  @HttpCode(204)
  async rename(@Param('id') id: string, @Param('title') title: string) {
    await this.service.rename(id, title)
  }
}

@Module({ controllers: [PostsController], providers: [Posts, PostsService] })
export class BlogModule {}
