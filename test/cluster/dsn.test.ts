import { describe, expect, test } from 'vitest';
import { describeDataSource, parseDataSource, parseGoDuration, type DataSourceConfig } from '../../src/cluster/dsn.js';
import { DataSourceError } from '../../src/cluster/errors.js';
import { Redactor } from '../../src/cluster/redact.js';

const SECRET = 'Sup3r:s@cr/et?#';

describe('parseDataSource accepts the forms Mattermost writes', () => {
  test.each<[string, string, string, Partial<DataSourceConfig>]>([
    [
      'the default postgres URL from config.json parses into its parts',
      'postgres',
      'postgres://mmuser:mostest@localhost/mattermost_test?sslmode=disable&connect_timeout=10&binary_parameters=yes',
      { driver: 'postgres', host: 'localhost', port: 5432, user: 'mmuser', password: 'mostest', database: 'mattermost_test', tls: 'disable', connectTimeoutMs: 10_000, ignoredParams: ['binary_parameters'] },
    ],
    [
      'a postgresql:// URL with a port and a percent-encoded password decodes the password',
      'postgres',
      `postgresql://mm:${encodeURIComponent(SECRET)}@db.example.com:6432/mattermost?sslmode=verify-full`,
      { host: 'db.example.com', port: 6432, user: 'mm', password: SECRET, database: 'mattermost', tls: 'verify-full' },
    ],
    [
      'a postgres URL without sslmode requires TLS like lib/pq',
      'postgres',
      'postgres://mm@10.0.0.5/mattermost',
      { host: '10.0.0.5', tls: 'require', password: '' },
    ],
    [
      'an IPv6 postgres host in brackets keeps the port',
      'postgres',
      'postgres://mm:pw@[fd00::5]:5433/mm?sslmode=disable',
      { host: 'fd00::5', port: 5433 },
    ],
    [
      'a host query parameter naming a directory selects a unix socket',
      'postgres',
      'postgres://mm:pw@/mattermost?host=/var/run/postgresql&sslmode=disable',
      { host: '', socketPath: '/var/run/postgresql' },
    ],
    [
      'application_name and search_path are forwarded as runtime parameters',
      'postgres',
      'postgres://mm:pw@h/db?sslmode=disable&application_name=mmx&search_path=mm',
      { runtimeParams: { application_name: 'mmx', search_path: 'mm' } },
    ],
    [
      'the lib/pq key=value form with a quoted password parses',
      'postgres',
      "host=db port=5433 user=mm password='it\\'s a pw' dbname=mattermost sslmode=disable connect_timeout=3",
      { host: 'db', port: 5433, user: 'mm', database: 'mattermost', tls: 'disable', connectTimeoutMs: 3000 },
    ],
    [
      'the Go MySQL DSN from Mattermost docs parses into its parts',
      'mysql',
      'mmuser:mostest@tcp(localhost:3306)/mattermost_test?charset=utf8mb4,utf8&readTimeout=30s&writeTimeout=30s',
      { driver: 'mysql', host: 'localhost', port: 3306, user: 'mmuser', password: 'mostest', database: 'mattermost_test', charset: 'utf8mb4', readTimeoutMs: 30_000, writeTimeoutMs: 30_000, tls: 'disable' },
    ],
    [
      'a MySQL password containing ":" "@" and "/" is taken up to the last "@" like go-sql-driver',
      'mysql',
      `mm:${SECRET.replace('?', '').replace('#', '')}@tcp(10.1.2.3:3307)/mm`,
      { host: '10.1.2.3', port: 3307, user: 'mm', password: SECRET.replace('?', '').replace('#', ''), database: 'mm' },
    ],
    [
      'a MySQL DSN with the mysql:// prefix of MM_CONFIG is accepted',
      'mysql',
      'mysql://mm:pw@tcp(db:3306)/mattermost?charset=utf8mb4&timeout=5s&tls=skip-verify',
      { host: 'db', user: 'mm', database: 'mattermost', connectTimeoutMs: 5000, tls: 'require' },
    ],
    [
      'a MySQL address without a port gets 3306 and tcp() alone means 127.0.0.1:3306',
      'mysql',
      'mm:pw@tcp()/mattermost',
      { host: '127.0.0.1', port: 3306 },
    ],
    [
      'a MySQL unix socket DSN keeps the socket path',
      'mysql',
      'mm:pw@unix(/run/mysqld/mysqld.sock)/mattermost?readTimeout=1m30s',
      { socketPath: '/run/mysqld/mysqld.sock', host: '', readTimeoutMs: 90_000 },
    ],
    [
      'DriverName is matched case-insensitively and collation wins over charset',
      'MySQL',
      'mm:pw@tcp(h:1)/d?charset=latin1&collation=utf8mb4_general_ci',
      { driver: 'mysql', port: 1, charset: 'utf8mb4_general_ci' },
    ],
  ])('%s', (_name, driver, ds, want) => {
    const cfg = parseDataSource(driver, ds);
    expect(cfg).toMatchObject(want);
  });

  test('the key=value form unescapes backslashes inside quotes', () => {
    const cfg = parseDataSource('postgres', "user=mm password='a b\\'c' dbname=mm sslmode=disable");
    expect(cfg.password).toBe("a b'c");
  });
});

describe('parseDataSource rejects bad input with a field name and without the password', () => {
  test.each<[string, string, string, string]>([
    ['an unknown driver name is rejected', 'sqlite3', `file:${SECRET}`, 'driverName'],
    ['a MySQL DSN given to the postgres driver is called out', 'postgres', `mm:${SECRET}@tcp(db:3306)/mm`, 'driverName'],
    ['a postgres URL given to the mysql driver is called out', 'mysql', `postgres://mm:${encodeURIComponent(SECRET)}@db/mm`, 'driverName'],
    ['an empty data source is rejected', 'postgres', '   ', 'dataSource'],
    ['a port above 65535 is rejected', 'postgres', `postgres://mm:${encodeURIComponent(SECRET)}@db:70000/mm`, 'port'],
    ['a non-numeric port is rejected', 'mysql', `mm:${SECRET}@tcp(db:abc)/mm`, 'port'],
    ['a postgres URL without a database is rejected', 'postgres', `postgres://mm:${encodeURIComponent(SECRET)}@db:5432`, 'database'],
    ['a MySQL DSN without a slash is rejected', 'mysql', 'mm:SECRETPW@tcp(db:3306)', 'dataSource'],
    ['a password with an unescaped slash never leaks through the "network" error', 'mysql', 'mm:SECRETPW@x/SECRETPW', 'protocol'],
    ['a password with an unescaped slash never leaks through the "port" error', 'postgres', 'postgres://mm:SECRETPW/db', 'port'],
    ['a MySQL DSN without a database is rejected', 'mysql', `mm:${SECRET}@tcp(db:3306)/`, 'database'],
    ['an unsupported sslmode is rejected like lib/pq does', 'postgres', `postgres://mm:${encodeURIComponent(SECRET)}@db/mm?sslmode=prefer`, 'param:sslmode'],
    ['a malformed percent-encoded password is rejected without echoing it', 'postgres', 'postgres://mm:%zzSECRETPW@db/mm', 'password'],
    ['an unterminated quoted password is rejected without echoing it', 'postgres', "host=db password='SECRETPW dbname=mm", 'password'],
    ['a bad Go duration is rejected', 'mysql', `mm:${SECRET}@tcp(db:3306)/mm?readTimeout=30parsecs`, 'param:readTimeout'],
    ['an unknown network is rejected', 'mysql', `mm:${SECRET}@pipe(x)/mm`, 'protocol'],
    ['an unterminated MySQL address is rejected', 'mysql', `mm:${SECRET}@tcp(db:3306/mm`, 'address'],
    ['an unknown charset list is rejected', 'mysql', `mm:${SECRET}@tcp(db)/mm?charset=klingon`, 'param:charset'],
  ])('%s', (_name, driver, ds, field) => {
    let err: unknown;
    try {
      parseDataSource(driver, ds);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataSourceError);
    const e = err as DataSourceError;
    expect(e.code).toBe('MM_ERR_DSN_INVALID');
    expect(e.field).toBe(field);
    for (const text of [e.message, e.stack ?? '', JSON.stringify(e)]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(encodeURIComponent(SECRET));
      expect(text).not.toContain('SECRETPW');
    }
  });
});

describe('helpers', () => {
  test.each<[string, number]>([
    ['30s', 30_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['1.5h', 5_400_000],
    ['0', 0],
    ['250us', 0],
  ])('Go duration %s is %d ms', (s, ms) => {
    expect(parseGoDuration(s)).toBe(ms);
  });

  test('describeDataSource masks the password and keeps what an admin needs', () => {
    const cfg = parseDataSource('postgres', `postgres://mm:${encodeURIComponent(SECRET)}@db:5432/mattermost?sslmode=disable`);
    expect(describeDataSource(cfg)).toBe('postgres://mm:***@db:5432/mattermost');
  });

  test.each<[string, string, string]>([
    ['a known secret is masked in every spelling', `login as mm with ${SECRET} / ${encodeURIComponent(SECRET)}`, 'login as mm with *** / ***'],
    ['an unknown URL password is masked', 'dial postgres://u:hunter2@db/mm failed', 'dial postgres://u:***@db/mm failed'],
    ['an unknown Go MySQL password is masked', 'bad dsn u:hunt:er@2@tcp(db:3306)/mm', 'bad dsn u:***@tcp(db:3306)/mm'],
    ['an unknown key=value password is masked', "host=db password='a b' dbname=x", 'host=db password=*** dbname=x'],
  ])('Redactor: %s', (_name, input, want) => {
    expect(new Redactor([SECRET]).redact(input)).toBe(want);
  });
});
