import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openDb, toPgPlaceholders, type Db } from '../../src/cluster/db.js';
import { DbError } from '../../src/cluster/errors.js';
import { createTestDatabase, DRIVERS, randomName, waitFor, type TestDatabase } from './helpers.js';

const PASSWORD = 'n0t-Th1s:one@all/please';

describe.each(DRIVERS)('Db on %s', (_name, c) => {
  let t: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    t = await createTestDatabase(c);
    db = t.db;
    await db.exec('CREATE TABLE kv (k VARCHAR(64) PRIMARY KEY, v BIGINT NOT NULL, note TEXT)');
  });
  afterAll(async () => {
    await t?.drop();
  });

  test('placeholders, BIGINT as a JS number and found-rows counts work the same on both drivers', async () => {
    const big = 1_700_000_000_123;
    expect(await db.exec('INSERT INTO kv (k, v, note) VALUES (?, ?, ?), (?, ?, ?)', ['a', big, 'it\'s "?"', 'b', 2, null])).toBe(2);
    const rows = await db.query<{ k: string; v: number; note: string | null }>('SELECT k AS k, v AS v, note AS note FROM kv WHERE v >= ? ORDER BY k', [0]);
    expect(rows).toEqual([
      { k: 'a', v: big, note: 'it\'s "?"' },
      { k: 'b', v: 2, note: null },
    ]);
    // An UPDATE that changes nothing still reports the matched row (MySQL: CLIENT_FOUND_ROWS).
    expect(await db.exec('UPDATE kv SET v = ? WHERE k = ?', [2, 'b'])).toBe(1);
    expect(await db.exec('UPDATE kv SET v = ? WHERE k = ?', [2, 'nope'])).toBe(0);
  });

  test('a transaction commits on success and rolls back when the callback throws', async () => {
    await db.transaction(async (tx) => {
      await tx.exec('INSERT INTO kv (k, v) VALUES (?, ?)', ['tx1', 1]);
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.exec('INSERT INTO kv (k, v) VALUES (?, ?)', ['tx2', 1]);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const rows = await db.query<{ k: string }>("SELECT k AS k FROM kv WHERE k LIKE 'tx%' ORDER BY k");
    expect(rows.map((r) => r.k)).toEqual(['tx1']);
  });

  test('a duplicate key is reported as kind duplicate and a missing table as kind missing_table', async () => {
    const dup = await db.exec('INSERT INTO kv (k, v) VALUES (?, ?)', ['a', 1]).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(DbError);
    expect((dup as DbError).kind).toBe('duplicate');
    const missing = await db.query('SELECT * FROM no_such_table').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(DbError);
    expect((missing as DbError).kind).toBe('missing_table');
    expect((missing as DbError).code).toBe('MM_ERR_DB_MISSING_TABLE');
  });

  test('a dedicated connection knows its backend id and reports when the server kills its session', async () => {
    const conn = await db.connect();
    expect(conn.backendId).toBeGreaterThan(0);
    let closedWith: DbError | null | undefined;
    conn.onClose((e) => (closedWith = e));
    const killSql = c.driver === 'postgres' ? 'SELECT pg_terminate_backend(?)' : `KILL ${conn.backendId}`;
    await db.query(killSql, c.driver === 'postgres' ? [conn.backendId] : []);
    expect(await waitFor(() => conn.closed, 5000)).toBe(true);
    expect(closedWith === undefined).toBe(false);
    const after = await conn.query('SELECT 1').catch((e: unknown) => e);
    expect(after).toBeInstanceOf(DbError);
    expect((after as DbError).kind).toBe('connection');
  });

  test('a query past its timeout on a dedicated connection fails fast and drops the session', async () => {
    const conn = await db.connect();
    const id = conn.backendId;
    const sleepSql = c.driver === 'postgres' ? 'SELECT pg_sleep(1.5)' : 'SELECT SLEEP(1.5)';
    const t0 = Date.now();
    const err = await conn.query(sleepSql, [], 200).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(err).toBeInstanceOf(DbError);
    expect((err as DbError).kind).toBe('timeout');
    expect(conn.closed).toBe(true);
    // The server notices the closed socket and ends the session (postgres cancels at the next
    // interrupt check; MariaDB when SLEEP is interrupted or returns).
    const probe =
      c.driver === 'postgres'
        ? async () => (await db.query('SELECT count(*) AS n FROM pg_stat_activity WHERE pid = ?', [id]))[0]!.n === 0
        : async () => (await db.query('SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ?', [id]))[0]!.n === 0;
    expect(await waitFor(probe, 8000, 100)).toBe(true);
  });

  test('close() ends the session and onClose reports a clean end', async () => {
    const conn = await db.connect();
    let closedWith: DbError | null | undefined;
    conn.onClose((e) => (closedWith = e));
    await conn.close();
    expect(conn.closed).toBe(true);
    expect(closedWith).toBeNull();
  });
});

describe('Db errors never carry the password', () => {
  const cases: Array<[string, string, string, string]> = [
    ['an unreachable postgres port is a connection error', 'postgres', `postgres://postgres:${encodeURIComponent(PASSWORD)}@127.0.0.1:1/test?sslmode=disable&connect_timeout=2`, 'connection'],
    ['an unreachable MariaDB port is a connection error', 'mysql', `root:${PASSWORD}@tcp(127.0.0.1:1)/test?timeout=2s`, 'connection'],
    ['a wrong MariaDB password is an auth error', 'mysql', `root:${PASSWORD}@tcp(127.0.0.1:3306)/test?timeout=5s`, 'auth'],
    ['a missing postgres database is an auth error', 'postgres', `postgres://postgres:${encodeURIComponent(PASSWORD)}@127.0.0.1:5432/${randomName('nodb')}?sslmode=disable`, 'auth'],
  ];
  test.each(cases)('%s', async (_name, driver, dsn, kind) => {
    const lines: string[] = [];
    const logger = {
      debug: (o: object, m: string) => lines.push(JSON.stringify(o) + m),
      info: (o: object, m: string) => lines.push(JSON.stringify(o) + m),
      warn: (o: object, m: string) => lines.push(JSON.stringify(o) + m),
      error: (o: object, m: string) => lines.push(JSON.stringify(o) + m),
    };
    const db = openDb(driver, dsn, { logger, connectTimeoutMs: 2000 });
    try {
      const e1 = await db.ping().catch((e: unknown) => e);
      const e2 = await db.connect().catch((e: unknown) => e);
      for (const e of [e1, e2]) {
        expect(e).toBeInstanceOf(DbError);
        expect((e as DbError).kind).toBe(kind);
        const err = e as DbError;
        db.log.error({ err, dsn }, `failed with ${err.message} on ${dsn}`);
        for (const text of [err.message, err.stack ?? '', JSON.stringify(err)]) {
          expect(text).not.toContain(PASSWORD);
          expect(text).not.toContain(encodeURIComponent(PASSWORD));
        }
      }
      expect(db.description).not.toContain(PASSWORD);
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) {
        expect(l).not.toContain(PASSWORD);
        expect(l).not.toContain(encodeURIComponent(PASSWORD));
      }
    } finally {
      await db.close();
    }
  });
});

describe('toPgPlaceholders', () => {
  test.each<[string, string, string]>([
    ['question marks become numbered parameters', 'SELECT ? , ?', 'SELECT $1 , $2'],
    ['question marks inside strings, identifiers and comments are left alone', `SELECT '?', "a?" , ? -- ?\n, ?`, `SELECT '?', "a?" , $1 -- ?\n, $2`],
  ])('%s', (_name, sql, want) => {
    expect(toPgPlaceholders(sql)).toBe(want);
  });
});
