import { describe, expect, test } from 'vitest'
import { tablesRead, tablesWritten } from '../src/sql-tables.ts'

const known = new Set(['blog_articles', 'app_users', 'article_tags', 'tags'])

describe('tablesRead', () => {
  test('FROM and JOIN targets, quoted or not, schema-qualified or not', () => {
    const sql =
      'SELECT "a"."id" FROM "public"."blog_articles" "a" LEFT JOIN app_users u ON u.id = a.author_id ' +
      'INNER JOIN `article_tags` t ON 1 = 1 WHERE a.title = \'FROM tags\' -- PARAMETERS: ["JOIN nowhere"]'
    expect(tablesRead(sql, known).sort()).toEqual(['app_users', 'article_tags', 'blog_articles'])
  })

  test('known tables anywhere (subqueries, comma joins) are included; unknown FROM targets too', () => {
    expect(
      tablesRead(
        'SELECT * FROM raw_table r, tags WHERE EXISTS (SELECT 1 FROM "blog_articles")',
        known,
      ).sort(),
    ).toEqual(['blog_articles', 'raw_table', 'tags'])
  })

  test('literals and comments never name tables', () => {
    expect(tablesRead("SELECT 'FROM blog_articles' /* JOIN tags */", known)).toEqual([])
  })
})

describe('tablesWritten', () => {
  test('INSERT, UPDATE, DELETE, TRUNCATE, MERGE targets', () => {
    const { tables, unknown } = tablesWritten(
      'INSERT INTO "tags" (name) VALUES ($1); UPDATE public.blog_articles AS a SET title = 1; DELETE FROM ONLY app_users WHERE id = 1; ' +
        'TRUNCATE TABLE a, "b" RESTART IDENTITY CASCADE; MERGE INTO c USING d ON true WHEN MATCHED THEN DELETE',
    )
    expect(unknown).toBe(false)
    expect(tables).toEqual([
      { table: 'tags', verb: 'insert' },
      { table: 'blog_articles', verb: 'update' },
      { table: 'app_users', verb: 'delete' },
      { table: 'a', verb: 'truncate', cascade: true },
      { table: 'b', verb: 'truncate', cascade: true },
      { table: 'c', verb: 'update' },
    ])
  })

  test('SQLite forms: INSERT OR REPLACE, REPLACE INTO, UPDATE OR IGNORE', () => {
    expect(
      tablesWritten(
        'INSERT OR REPLACE INTO tags VALUES (1); REPLACE INTO app_users VALUES (2); UPDATE OR IGNORE blog_articles SET x = 1',
      ).tables.map((t) => t.table),
    ).toEqual(['tags', 'app_users', 'blog_articles'])
  })

  test('reads write nothing; writes it cannot attribute are unknown', () => {
    expect(tablesWritten('SELECT * FROM blog_articles FOR UPDATE')).toEqual({ tables: [], unknown: false })
    expect(tablesWritten('WITH x AS (SELECT 1) SELECT * FROM x')).toEqual({ tables: [], unknown: false })
    expect(tablesWritten('BEGIN; COMMIT')).toEqual({ tables: [], unknown: false })
    expect(tablesWritten('CALL refresh_everything()').unknown).toBe(true)
    expect(tablesWritten('DO $$ BEGIN DELETE FROM blog_articles; END $$').unknown).toBe(true)
  })

  test('a data-modifying CTE reports its target', () => {
    expect(
      tablesWritten(
        'WITH moved AS (DELETE FROM tags RETURNING *) INSERT INTO app_users SELECT 1 FROM moved',
      ).tables.map((t) => t.table),
    ).toEqual(['app_users', 'tags'])
  })
})
