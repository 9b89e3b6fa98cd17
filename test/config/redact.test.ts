/**
 * Secrets: dsnWithoutPassword over every DataSource form, redact() over a config holding every
 * kind of secret, and no secret in any error message whatever layer it came from.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError, REDACTED, dsnWithoutPassword, loadConfig, redact, urlWithoutPassword } from '../../src/config/index.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

describe('dsnWithoutPassword', () => {
  test.each([
    { name: 'a lib/pq URL', dsn: 'postgres://mmuser:mostest@localhost/mattermost_test?sslmode=disable&connect_timeout=10', want: 'postgres://mmuser@localhost/mattermost_test?sslmode=disable&connect_timeout=10', secret: 'mostest' },
    { name: 'a postgresql:// URL with a port', dsn: 'postgresql://mm:pa55@db:5432/mm', want: 'postgresql://mm@db:5432/mm', secret: 'pa55' },
    { name: 'a URL whose password has "@", "/" and "?"', dsn: 'postgres://mm:p@ss/w?rd@db:5432/mm?sslmode=require', want: 'postgres://mm@db:5432/mm?sslmode=require', secret: 'p@ss/w?rd' },
    { name: 'a URL with a percent-encoded password', dsn: 'postgres://mm:p%40ss@db/mm', want: 'postgres://mm@db/mm', secret: 'p%40ss' },
    { name: 'a URL without a password', dsn: 'postgres://mm@db/mm?sslmode=disable', want: 'postgres://mm@db/mm?sslmode=disable', secret: '' },
    { name: 'a URL without userinfo', dsn: 'postgres://db/mm', want: 'postgres://db/mm', secret: '' },
    { name: 'a URL with a password query parameter', dsn: 'postgres://db/mm?user=mm&password=qp-secret&sslmode=disable', want: 'postgres://db/mm?user=mm&sslmode=disable', secret: 'qp-secret' },
    { name: 'the lib/pq key=value form', dsn: 'host=db port=5432 user=mm password=kv-secret dbname=mm sslmode=disable', want: 'host=db port=5432 user=mm dbname=mm sslmode=disable', secret: 'kv-secret' },
    { name: 'the key=value form with a quoted password', dsn: "host=db user=mm password='kv s\\'ecret' dbname=mm", want: 'host=db user=mm dbname=mm', secret: 'ecret' },
    { name: 'a go-sql-driver DSN', dsn: 'mmuser:mostest@tcp(localhost:3306)/mattermost_test?charset=utf8mb4,utf8&writeTimeout=30s', want: 'mmuser@tcp(localhost:3306)/mattermost_test?charset=utf8mb4,utf8&writeTimeout=30s', secret: 'mostest' },
    { name: 'a go-sql-driver DSN whose password has "@" and ":"', dsn: 'mmuser:my$ql-P@ss:word@tcp(db:3306)/mm', want: 'mmuser@tcp(db:3306)/mm', secret: 'P@ss:word' },
    { name: 'a go-sql-driver DSN with a "/" in the password', dsn: 'mm:a/b@tcp(db:3306)/mm', want: 'mm@tcp(db:3306)/mm', secret: 'a/b' },
    { name: 'a mysql:// DSN as MM_CONFIG uses', dsn: 'mysql://mm:secret-x@tcp(db:3306)/mm?charset=utf8mb4', want: 'mysql://mm@tcp(db:3306)/mm?charset=utf8mb4', secret: 'secret-x' },
    { name: 'a go-sql-driver DSN without a password', dsn: 'root@tcp(127.0.0.1:3306)/test', want: 'root@tcp(127.0.0.1:3306)/test', secret: '' },
    { name: 'text in no known form', dsn: 'hunter2', want: REDACTED, secret: 'hunter2' },
    { name: 'an empty string', dsn: '', want: '', secret: '' },
  ])('$name', ({ dsn, want, secret }) => {
    const got = dsnWithoutPassword(dsn);
    expect(got).toBe(want);
    if (secret !== '') expect(got).not.toContain(secret);
  });

  test('URLs lose embedded passwords; others are unchanged', () => {
    expect(urlWithoutPassword('http://user:pw@rtcd:8045/x')).toBe('http://user@rtcd:8045/x');
    expect(urlWithoutPassword('https://chat.example.com')).toBe('https://chat.example.com');
  });
});

describe('redact', () => {
  test('masks every secret and leaves the rest intact', async () => {
    const c = await loadConfig({
      mattermostConfig: join(FIXTURES, 'mattermost-s3-ha.json'),
      overrides: { server: { adminToken: 'admin-token-0123456789abcdef' }, targets: { calls: { rtcdUrl: 'http://calls:rtcd-pw@rtcd:8045' } } },
    });
    const r = redact(c);
    const text = JSON.stringify(r);
    for (const secret of ['admin-token-0123456789abcdef', 'AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'my$ql-P@ss:word', 'rtcd-pw']) {
      expect(text).not.toContain(secret);
    }
    expect(r.server.adminToken).toBe(REDACTED);
    expect(r.fileStore.s3.accessKeyId).toBe(REDACTED);
    expect(r.fileStore.s3.secretAccessKey).toBe(REDACTED);
    expect(r.cluster.database.dataSource).toBe('mmuser@tcp(mysql.corp.example.org:3306)/mattermost?charset=utf8mb4,utf8&writeTimeout=30s');
    expect(r.targets.calls.rtcdUrl).toBe('http://calls@rtcd:8045');
    expect(r.fileStore.s3.bucket).toBe('mattermost-files');
    // The input is untouched.
    expect(c.fileStore.s3.secretAccessKey).toBe('wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY');
  });

  test('empty secrets stay empty (so a log shows they are unset)', async () => {
    const r = redact(await loadConfig());
    expect(r.server.adminToken).toBe('');
    expect(r.fileStore.s3.secretAccessKey).toBe('');
    expect(r.cluster.database.dataSource).toBe('');
  });
});

describe('no secret in any error message', () => {
  const SECRET = 'Zx9-very-secret-value-Qw7';
  test.each([
    { name: 'a short admin token from the environment', env: { MM_METRICS_SERVER_ADMIN_TOKEN: 'tok-Qw7' } },
    { name: 'an admin token with spaces from flags', overrides: { server: { adminToken: `${SECRET} ${SECRET}` } } },
    { name: 'an S3 secret without its key id', overrides: { fileStore: { driver: 's3', s3: { bucket: 'b', secretAccessKey: SECRET } } } },
    { name: 'an S3 key id without its secret', overrides: { fileStore: { driver: 's3', s3: { bucket: 'b', accessKeyId: SECRET } } } },
    { name: 'a data source of the wrong type', overrides: { cluster: { database: { dataSource: { password: SECRET } } } } },
    { name: 'a bad setting next to a data source with a password', overrides: { cluster: { enable: true, database: { dataSource: `postgres://u:${SECRET}@h/db` } }, log: { level: 'x' } } },
  ])('$name', async ({ env, overrides }) => {
    let err: unknown = null;
    try {
      await loadConfig({ ...(env !== undefined ? { env } : {}), ...(overrides !== undefined ? { overrides } : {}) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    for (const view of [e.message, JSON.stringify(e.issues), String(e.stack)]) {
      expect(view).not.toContain(SECRET);
      expect(view).not.toContain('tok-Qw7');
    }
  });
});
