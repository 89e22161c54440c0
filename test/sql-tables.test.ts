import { sqlTablesRead, sqlTablesWritten, sqlWrites, sqlWriteTargets, stripSql } from '@freshkey/core/adapter'
import { describe, expect, test } from 'vitest'

const known = new Set(['blog_articles', 'app_users', 'article_tags', 'tags', 'Memberships'])
const all = [...known].sort()
const written = (sql: string) => sqlTablesWritten(sql, known).sort()
const named = (sql: string, tables: ReadonlySet<string> = known) =>
  sqlWriteTargets(sql, tables).filter((t) => t.verb !== 'unknown')

describe('stripSql', () => {
  test('comments, literals and dollar-quoted bodies go; quoted identifiers stay', () => {
    expect(stripSql(`SELECT 'a''b', "it's", $x$ drop $x$, $$;$$ -- c\n/* d */ 1`)).toBe(
      `SELECT '', "it's", '', ''  \n  1`,
    )
  })

  test("one pass: '--' in a literal does not comment out what follows (it hid a DELETE)", () => {
    expect(written("SELECT '--'; DELETE FROM app_users")).toEqual(['app_users'])
    expect(written("SELECT '/*'; DELETE FROM tags; SELECT '*/'")).toEqual(['tags'])
  })
})

describe('sqlWrites', () => {
  test.each([
    ['  select * from t', false],
    ['SELECT id FROM t WHERE id = 1 FOR UPDATE', false],
    ['SELECT id FROM t FOR NO KEY UPDATE SKIP LOCKED', false],
    ['SELECT id FROM t FOR SHARE', false],
    ['/* hi */ -- x\n SELECT 1', false],
    ['WITH x AS (SELECT 1) SELECT * FROM x', false],
    ['VALUES (1), (2)', false],
    ['(SELECT 1) UNION (SELECT 2)', false],
    ['SHOW search_path', false],
    ['EXPLAIN SELECT * FROM t', false],
    ['BEGIN; SAVEPOINT a; RELEASE SAVEPOINT a; COMMIT', false],
    ['SET search_path TO public', false],
    ['', false],
    ['INSERT INTO t VALUES (1) RETURNING id', true],
    ['WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x', true],
    ['SELECT 1; DELETE FROM t', true],
    ['CALL refresh_everything()', true],
    ['REINDEX TABLE t', true],
    ['something we do not know', true],
  ])('%j → %s', (sql, writes) => {
    expect(sqlWrites(sql)).toBe(writes)
  })

  test('statements that cannot write stay reads though they name a write verb', () => {
    // Old Prisma called these writes (a verb anywhere, or an unknown first word).
    expect(sqlWrites('SHOW CREATE TABLE t')).toBe(false)
    expect(sqlWrites('GRANT INSERT, UPDATE ON t TO bob')).toBe(false)
    expect(sqlWrites('LOCK TABLE t IN SHARE UPDATE EXCLUSIVE MODE')).toBe(false)
    expect(sqlWrites('PRAGMA journal_mode = DELETE')).toBe(false)
    expect(sqlWrites('EXPLAIN ANALYZE SELECT * FROM t')).toBe(false)
    // A new object holds no cached data (MikroORM and TypeORM agreed; Prisma called CREATE a write).
    expect(sqlWrites('CREATE TABLE audit_log (id int REFERENCES app_users ON DELETE CASCADE)')).toBe(false)
    expect(
      sqlWrites('CREATE TRIGGER t AFTER INSERT OR UPDATE ON tags FOR EACH ROW EXECUTE FUNCTION f()'),
    ).toBe(false)
    // MySQL INSERT(), REPLACE() and TRUNCATE() are functions, not statements.
    expect(sqlWrites("SELECT replace(name, 'a', 'b'), truncate(price, 2), insert(s, 1, 2, 'x') FROM t")).toBe(
      false,
    )
  })
})

describe('sqlTablesWritten', () => {
  test.each([
    ['select * from blog_articles', []],
    ['select * from blog_articles for update', []],
    ['select 1 -- update app_users', []],
    ["select 'delete from app_users'", []],
    ['WITH x AS (SELECT 1) SELECT * FROM x', []],
    ['BEGIN; COMMIT', []],
    ['insert into blog_articles (id) values (1) on conflict (id) do update set id = 1', ['blog_articles']],
    ['UPDATE "public"."app_users" SET name = 1', ['app_users']],
    ['delete from `blog_articles` where id = 1', ['blog_articles']],
    ['DELETE FROM [dbo].[tags] WHERE id = 1', ['tags']],
    ['truncate table app_users, blog_articles cascade', ['app_users', 'blog_articles']],
    ['update memberships set role = 1', ['Memberships']],
    ['with x as (select 1) update app_users set name = 1 from x', ['app_users']],
    ['insert or replace into app_users values (1)', ['app_users']],
    ['INSERT IGNORE INTO tags VALUES (1)', ['tags']],
    ['REPLACE INTO app_users VALUES (2)', ['app_users']],
    ['UPDATE OR IGNORE blog_articles SET x = 1', ['blog_articles']],
    ['UPDATE ONLY tags SET x = 1', ['tags']],
    ['DELETE LOW_PRIORITY QUICK FROM ONLY tags WHERE x = 1', ['tags']],
    ['TRUNCATE ONLY tags, ONLY app_users', ['app_users', 'tags']],
    ['MERGE INTO tags t USING src s ON t.id = s.id WHEN MATCHED THEN UPDATE SET x = 1', ['tags']],
    ['ALTER TABLE IF EXISTS ONLY tags DROP COLUMN x', ['tags']],
    ['REFRESH MATERIALIZED VIEW CONCURRENTLY public.tags', ['tags']],
    ['COPY tags (a, b) FROM STDIN', ['tags']],
    ['INSERT INTO tags VALUES (1) ON DUPLICATE KEY UPDATE x = 1', ['tags']],
    ["UPDATE app_users SET name = replace(name, 'a', 'b')", ['app_users']],
    ['BEGIN UPDATE tags SET x = 1', ['tags']],
    ['EXPLAIN ANALYZE DELETE FROM tags', ['tags']],
  ])('%s', (sql, tables) => {
    expect(written(sql)).toEqual([...tables].sort())
  })

  test('a write that names no known table, or that cannot be attributed, marks them all', () => {
    expect(written('call refresh_everything()')).toEqual(all)
    expect(written('DO $$ BEGIN DELETE FROM blog_articles; END $$')).toEqual(all)
    expect(written('EXEC dbo.refresh')).toEqual(all)
    expect(written('CREATE OR REPLACE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql')).toEqual(all)
    expect(written('COPY tags TO STDOUT')).toEqual(all)
  })

  test('a data-modifying CTE reports its target', () => {
    expect(
      written('WITH moved AS (DELETE FROM tags RETURNING *) INSERT INTO app_users SELECT 1 FROM moved'),
    ).toEqual(['app_users', 'tags'])
  })

  test('every known spelling of a name is reported', () => {
    expect(sqlTablesWritten('DELETE FROM USERS', new Set(['users', 'Users', 'orders'])).sort()).toEqual([
      'Users',
      'users',
    ])
  })

  test('writes to a known table are never reported without a write', () => {
    for (const sql of ['SELECT 1', 'SELECT * FROM tags', 'SHOW tables', 'INSERT INTO tags VALUES (1)']) {
      expect(sqlTablesWritten(sql, known).length > 0).toBe(sqlWrites(sql))
    }
  })

  // Where the three old parsers disagreed, the wider answer wins.
  describe('disagreements, resolved wide', () => {
    test('a write to an unknown table reports it and every known table (TypeORM dropped the rest, MikroORM the name)', () => {
      expect(written('delete from audit_log')).toEqual([...all, 'audit_log'].sort())
    })

    test('each statement widens on its own (MikroORM let a known target in one statement cover a CALL in the next)', () => {
      expect(written('INSERT INTO tags VALUES (1); CALL p()')).toEqual(all)
      expect(written('INSERT INTO tags VALUES (1); DELETE FROM audit_log')).toEqual(
        [...all, 'audit_log'].sort(),
      )
    })

    test('MySQL multi-table UPDATE and DELETE mark every table (MikroORM took the first name, maybe the wrong one)', () => {
      expect(written('UPDATE app_users u JOIN tags t ON t.id = u.id SET t.name = 1')).toEqual(all)
      expect(written('DELETE t FROM app_users JOIN tags t ON t.id = app_users.id')).toEqual(all)
      expect(written('DELETE FROM app_users, tags USING app_users JOIN tags')).toEqual(['app_users', 'tags'])
    })

    test('DROP TABLE reports its whole list (TypeORM took the first name)', () => {
      expect(written('DROP TABLE IF EXISTS tags, app_users CASCADE')).toEqual(['app_users', 'tags'])
    })

    test('CREATE OR REPLACE writes what it replaces (TypeORM called every CREATE a read)', () => {
      expect(sqlWrites('CREATE OR REPLACE VIEW tags AS SELECT 1')).toBe(true)
      expect(written('CREATE OR REPLACE VIEW tags AS SELECT 1')).toEqual(['tags'])
    })

    test('EXPLAIN (ANALYZE) runs its statement (TypeORM called it a read)', () => {
      expect(written('EXPLAIN (ANALYZE, BUFFERS) DELETE FROM tags')).toEqual(['tags'])
    })

    test('a read that names a write verb outside literals writes (TypeORM trusted the first word)', () => {
      expect(sqlWrites('SELECT copy FROM tags')).toBe(true)
      expect(written('SELECT copy FROM tags')).toEqual(all)
    })
  })
})

describe('sqlWriteTargets', () => {
  test('INSERT, UPDATE, DELETE, TRUNCATE, MERGE targets and what is done to them', () => {
    expect(
      named(
        'INSERT INTO "tags" (name) VALUES ($1); UPDATE public.blog_articles AS a SET title = 1; DELETE FROM ONLY app_users WHERE id = 1; ' +
          'TRUNCATE TABLE a, "b" RESTART IDENTITY CASCADE; MERGE INTO c USING d ON true WHEN MATCHED THEN DELETE',
        new Set([...known, 'a', 'b', 'c']),
      ),
    ).toEqual([
      { table: 'tags', verb: 'insert' },
      { table: 'blog_articles', verb: 'update' },
      { table: 'app_users', verb: 'delete' },
      { table: 'a', verb: 'truncate', cascade: true },
      { table: 'b', verb: 'truncate', cascade: true },
      { table: 'c', verb: 'merge' },
    ])
  })

  test('SQLite forms: INSERT OR REPLACE, REPLACE INTO, UPDATE OR IGNORE', () => {
    expect(
      named(
        'INSERT OR REPLACE INTO tags VALUES (1); REPLACE INTO app_users VALUES (2); UPDATE OR IGNORE blog_articles SET x = 1',
      ),
    ).toEqual([
      { table: 'tags', verb: 'merge' },
      { table: 'app_users', verb: 'merge' },
      { table: 'blog_articles', verb: 'update' },
    ])
  })

  test('MERGE, REPLACE and upserts may delete or rewrite keys: merge, not insert/update (TypeORM missed their cascades)', () => {
    expect(named('MERGE INTO tags USING s ON true WHEN MATCHED THEN DELETE').map((t) => t.verb)).toEqual([
      'merge',
    ])
    expect(
      named('INSERT INTO tags VALUES (1) ON CONFLICT (id) DO UPDATE SET id = 2').map((t) => t.verb),
    ).toEqual(['merge'])
    expect(named('INSERT INTO tags VALUES (1) ON CONFLICT DO NOTHING').map((t) => t.verb)).toEqual(['insert'])
  })

  test('DDL and REFRESH', () => {
    expect(named('ALTER TABLE tags ADD COLUMN x int; REFRESH MATERIALIZED VIEW app_users')).toEqual([
      { table: 'tags', verb: 'ddl' },
      { table: 'app_users', verb: 'truncate' },
    ])
  })

  test('an unattributable write lists every known table as unknown', () => {
    expect(sqlWriteTargets('CALL p()', new Set(['a', 'b']))).toEqual([
      { table: 'a', verb: 'unknown' },
      { table: 'b', verb: 'unknown' },
    ])
    expect(sqlWriteTargets('SELECT 1', known)).toEqual([])
  })
})

describe('sqlTablesRead', () => {
  test('FROM and JOIN targets, quoted or not, schema-qualified or not', () => {
    const sql =
      'SELECT "a"."id" FROM "public"."blog_articles" "a" LEFT JOIN app_users u ON u.id = a.author_id ' +
      'INNER JOIN `article_tags` t ON 1 = 1 WHERE a.title = \'FROM tags\' -- PARAMETERS: ["JOIN nowhere"]'
    expect(sqlTablesRead(sql, known).sort()).toEqual(['app_users', 'article_tags', 'blog_articles'])
  })

  test('known tables anywhere (subqueries, comma joins) are included; unknown FROM targets too', () => {
    expect(
      sqlTablesRead(
        'SELECT * FROM raw_table r, tags WHERE EXISTS (SELECT 1 FROM "blog_articles")',
        known,
      ).sort(),
    ).toEqual(['blog_articles', 'raw_table', 'tags'])
  })

  test('literals and comments never name tables', () => {
    expect(sqlTablesRead("SELECT 'FROM blog_articles' /* JOIN tags */", known)).toEqual([])
  })

  test('FROM ONLY and subqueries', () => {
    expect(sqlTablesRead('SELECT * FROM ONLY tags, (SELECT 1) x, LATERAL f(1)', known)).toEqual(['tags'])
  })

  test('known names match case-insensitively, quoted too, spelled as known (TypeORM missed "MEMBERSHIPS")', () => {
    expect(sqlTablesRead('select * from "MEMBERSHIPS" m join memberships n on true', known)).toEqual([
      'Memberships',
    ])
  })
})
