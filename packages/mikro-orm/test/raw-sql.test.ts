import { describe, expect, test } from 'vitest'
import { writtenTables } from '../src/index.ts'

const known = new Set(['app_users', 'blog_articles', 'Memberships'])

describe('writtenTables', () => {
  test.each([
    ['select * from blog_articles', []],
    ['select * from blog_articles for update', []],
    ['select 1 -- update app_users', []],
    ["select 'delete from app_users'", []],
    ['insert into blog_articles (id) values (1) on conflict (id) do update set id = 1', ['blog_articles']],
    ['UPDATE "public"."app_users" SET name = 1', ['app_users']],
    ['delete from `blog_articles` where id = 1', ['blog_articles']],
    ['truncate table app_users, blog_articles cascade', ['app_users', 'blog_articles']],
    ['update memberships set role = 1', ['Memberships']],
    ['with x as (select 1) update app_users set name = 1 from x', ['app_users']],
    ['insert or replace into app_users values (1)', ['app_users']],
  ])('%s', (sql, tables) => {
    expect(writtenTables(sql, known).sort()).toEqual([...tables].sort())
  })

  test('a write that names no known table marks them all', () => {
    expect(writtenTables('call refresh_everything()', known).sort()).toEqual([...known].sort())
    expect(writtenTables('delete from audit_log', known).sort()).toEqual([...known].sort())
  })
})
