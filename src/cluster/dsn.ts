/**
 * Parses Mattermost's `SqlSettings.DriverName` + `SqlSettings.DataSource` into one
 * driver-neutral description (../shared/mattermost/FACTS.md §2).
 *
 *   postgres  lib/pq URL   postgres://user:pass@host:5432/db?sslmode=disable&connect_timeout=10
 *             lib/pq k=v   host=db port=5432 user=mm password='a b' dbname=mattermost sslmode=disable
 *   mysql     Go DSN       user:pass@tcp(host:3306)/db?charset=utf8mb4,utf8&readTimeout=30s
 *                          (an optional `mysql://` prefix, as in MM_CONFIG, is accepted)
 *
 * The parsers mirror the Go ones Mattermost links (lib/pq `ParseURL`/`parseOpts`, go-sql-driver
 * `ParseDSN`), so a DataSource that works for the server works here, and one the server would
 * reject is rejected here with a message naming the offending part — never its value: in a
 * malformed DSN any part (the "port", the "network") may be a piece of the password.
 */
import { DataSourceError } from './errors.js';

export type DriverName = 'postgres' | 'mysql';

/**
 * Transport security, lib/pq's vocabulary: `disable` (plain), `require` (TLS, certificate
 * not checked), `verify-ca` (chain checked), `verify-full` (chain and host name checked).
 */
export type TlsMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

export interface DataSourceConfig {
  driver: DriverName;
  /** TCP host name or IP (IPv6 without brackets); '' when `socketPath` is used. */
  host: string;
  port: number;
  /** Unix socket: a directory for postgres (libpq convention), the socket file for mysql; '' for TCP. */
  socketPath: string;
  user: string;
  /** Never log this; `Db` registers it with its redactor. */
  password: string;
  database: string;
  tls: TlsMode;
  /** Paths from sslrootcert/sslcert/sslkey (postgres only); '' when absent. */
  sslRootCert: string;
  sslCert: string;
  sslKey: string;
  /** 0 = driver default. */
  connectTimeoutMs: number;
  /** MySQL readTimeout/writeTimeout; 0 = none. Used as the default per-query timeout. */
  readTimeoutMs: number;
  writeTimeoutMs: number;
  /** MySQL: the first charset of the list that the driver knows, or the collation; '' = driver default. */
  charset: string;
  /** Postgres runtime parameters forwarded to the server (application_name, search_path). */
  runtimeParams: Record<string, string>;
  /** Parameters accepted but not acted upon (driver-specific knobs); for a diagnostic log line. */
  ignoredParams: string[];
}

function baseConfig(driver: DriverName): DataSourceConfig {
  return {
    driver,
    host: '',
    port: driver === 'postgres' ? 5432 : 3306,
    socketPath: '',
    user: '',
    password: '',
    database: '',
    tls: 'disable',
    sslRootCert: '',
    sslCert: '',
    sslKey: '',
    connectTimeoutMs: 0,
    readTimeoutMs: 0,
    writeTimeoutMs: 0,
    charset: '',
    runtimeParams: {},
    ignoredParams: [],
  };
}

/** Normalizes SqlSettings.DriverName; throws DataSourceError for anything else. */
export function parseDriverName(name: string): DriverName {
  const n = name.trim().toLowerCase();
  if (n === 'postgres' || n === 'postgresql') return 'postgres';
  if (n === 'mysql' || n === 'mariadb') return 'mysql';
  return fail('driverName', `unsupported driver ${JSON.stringify(name.slice(0, 40))}: want "postgres" or "mysql"`);
}

/**
 * Parses a DataSource for the given DriverName. Throws DataSourceError; the message names
 * the field and never includes the password.
 */
export function parseDataSource(driverName: string, dataSource: string): DataSourceConfig {
  const driver = parseDriverName(driverName);
  const ds = dataSource.trim();
  if (ds.length === 0) fail('dataSource', 'is empty');
  if (driver === 'postgres') {
    if (/^postgres(ql)?:\/\//i.test(ds)) return parsePostgresURL(ds);
    if (/^mysql:\/\//i.test(ds) || /@(tcp6?|unix)\(/.test(ds)) {
      fail('driverName', 'DriverName is "postgres" but the DataSource looks like a MySQL DSN');
    }
    if (/^[a-z_]+\s*=/i.test(ds)) return parsePostgresKeyValue(ds);
    return fail('scheme', 'want postgres://… or key=value pairs (host=… dbname=…)');
  }
  if (/^postgres(ql)?:\/\//i.test(ds)) {
    fail('driverName', 'DriverName is "mysql" but the DataSource is a postgres:// URL');
  }
  return parseMySQLDSN(ds.replace(/^mysql:\/\//i, ''));
}

function fail(field: string, message: string): never {
  throw new DataSourceError(field, message);
}

// ─── postgres ────────────────────────────────────────────────────────────────

const PG_RUNTIME = new Set(['application_name', 'search_path']);

function parsePostgresURL(ds: string): DataSourceConfig {
  const m = /^(postgres(?:ql)?):\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/i.exec(ds);
  if (m === null) return fail('url', 'malformed postgres URL');
  const authority = m[2] ?? '';
  const path = m[3] ?? '';
  const query = (m[4] ?? '').slice(1);
  const opts = new Map<string, string>();

  // userinfo is everything before the last '@' (net/url does the same).
  const at = authority.lastIndexOf('@');
  const hostport = at >= 0 ? authority.slice(at + 1) : authority;
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(':');
    const user = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
    opts.set('user', decodeOrFail(user, 'user'));
    if (colon >= 0) opts.set('password', decodeOrFail(userinfo.slice(colon + 1), 'password'));
  }
  if (hostport.includes(',')) fail('host', 'several hosts are not supported by lib/pq');
  if (hostport.length > 0) {
    let host: string;
    let port = '';
    if (hostport.startsWith('[')) {
      const close = hostport.indexOf(']');
      if (close < 0) fail('host', 'unterminated IPv6 literal');
      host = hostport.slice(1, close);
      const rest = hostport.slice(close + 1);
      if (rest.length > 0) {
        if (!rest.startsWith(':')) fail('host', 'unexpected text after IPv6 literal');
        port = rest.slice(1);
      }
    } else {
      const colon = hostport.lastIndexOf(':');
      host = colon >= 0 ? hostport.slice(0, colon) : hostport;
      port = colon >= 0 ? hostport.slice(colon + 1) : '';
    }
    opts.set('host', decodeOrFail(host, 'host'));
    if (port.length > 0) opts.set('port', port);
  }
  if (path.length > 1) opts.set('dbname', decodeOrFail(path.slice(1), 'database'));
  // Query parameters come after and override, as in lib/pq.
  for (const [k, v] of parseQuery(query)) opts.set(k, v);
  return pgFromOptions(opts);
}

/** lib/pq key=value form: values may be single-quoted with backslash escapes. */
function parsePostgresKeyValue(ds: string): DataSourceConfig {
  const opts = new Map<string, string>();
  let i = 0;
  const n = ds.length;
  while (i < n) {
    while (i < n && /\s/.test(ds[i]!)) i++;
    if (i >= n) break;
    const eq = ds.indexOf('=', i);
    if (eq < 0) fail('dataSource', `missing "=" after key at offset ${i}`);
    const key = ds.slice(i, eq).trim();
    if (!/^[a-z_]+$/i.test(key)) fail('dataSource', `invalid key at offset ${i}`);
    i = eq + 1;
    while (i < n && ds[i] === ' ') i++;
    let value = '';
    if (ds[i] === "'") {
      i++;
      let closed = false;
      while (i < n) {
        const c = ds[i]!;
        if (c === '\\' && i + 1 < n) {
          value += ds[i + 1];
          i += 2;
          continue;
        }
        if (c === "'") {
          closed = true;
          i++;
          break;
        }
        value += c;
        i++;
      }
      // Never echo the value: it may be the password.
      if (!closed) fail(key === 'password' ? 'password' : `param:${key}`, 'unterminated quoted value');
    } else {
      while (i < n && !/\s/.test(ds[i]!)) {
        if (ds[i] === '\\' && i + 1 < n) i++;
        value += ds[i];
        i++;
      }
    }
    opts.set(key.toLowerCase(), value);
  }
  return pgFromOptions(opts);
}

function pgFromOptions(opts: Map<string, string>): DataSourceConfig {
  const cfg = baseConfig('postgres');
  cfg.tls = 'require'; // lib/pq's default when sslmode is absent
  for (const [k, v] of opts) {
    switch (k) {
      case 'host':
        if (v.startsWith('/')) cfg.socketPath = v;
        else cfg.host = v;
        break;
      case 'port':
        cfg.port = parsePort(v);
        break;
      case 'user':
        cfg.user = v;
        break;
      case 'password':
        cfg.password = v;
        break;
      case 'dbname':
        cfg.database = v;
        break;
      case 'sslmode':
        if (v === 'disable' || v === 'require' || v === 'verify-ca' || v === 'verify-full') cfg.tls = v;
        else fail('param:sslmode', 'unsupported value; lib/pq supports disable, require (default), verify-ca, verify-full');
        break;
      case 'sslrootcert':
        cfg.sslRootCert = v;
        break;
      case 'sslcert':
        cfg.sslCert = v;
        break;
      case 'sslkey':
        cfg.sslKey = v;
        break;
      case 'connect_timeout': {
        if (!/^\d+$/.test(v)) fail('param:connect_timeout', 'want whole seconds');
        cfg.connectTimeoutMs = Number(v) * 1000;
        break;
      }
      default:
        // lib/pq sends unknown keys to the server as runtime parameters; we forward only the
        // two that matter to us and list the rest for a diagnostic line.
        if (PG_RUNTIME.has(k)) cfg.runtimeParams[k] = v;
        else cfg.ignoredParams.push(k);
    }
  }
  if (cfg.host === '' && cfg.socketPath === '') cfg.host = 'localhost';
  if (cfg.database === '') fail('database', 'no database name: the DataSource must name the Mattermost database');
  return cfg;
}

// ─── mysql ───────────────────────────────────────────────────────────────────

/** go-sql-driver ParseDSN: `[user[:password]@][net[(addr)]]/dbname[?param=value&…]`. */
function parseMySQLDSN(ds: string): DataSourceConfig {
  const cfg = baseConfig('mysql');
  const slash = ds.lastIndexOf('/');
  if (slash < 0) fail('dataSource', 'missing "/" before the database name (want user:pass@tcp(host:3306)/db)');
  let net = 'tcp';
  let addr = '';
  if (slash > 0) {
    const left = ds.slice(0, slash);
    const at = left.lastIndexOf('@');
    let rest = left;
    if (at >= 0) {
      const userinfo = left.slice(0, at);
      const colon = userinfo.indexOf(':');
      cfg.user = colon >= 0 ? userinfo.slice(0, colon) : userinfo;
      cfg.password = colon >= 0 ? userinfo.slice(colon + 1) : '';
      rest = left.slice(at + 1);
    }
    const paren = rest.indexOf('(');
    if (paren >= 0) {
      if (!rest.endsWith(')')) fail('address', 'unterminated "(" in the address (unescaped "/" in it?)');
      addr = rest.slice(paren + 1, -1);
      net = rest.slice(0, paren);
    } else {
      net = rest;
    }
  }
  const afterSlash = ds.slice(slash + 1);
  const q = afterSlash.indexOf('?');
  const dbname = q >= 0 ? afterSlash.slice(0, q) : afterSlash;
  cfg.database = decodeOrFail(dbname, 'database');
  if (cfg.database === '') fail('database', 'no database name: the DataSource must name the Mattermost database');

  if (net === '' || net === 'tcp' || net === 'tcp4' || net === 'tcp6') {
    if (addr === '') addr = '127.0.0.1:3306';
    const hp = splitHostPort(addr, 3306);
    cfg.host = hp.host;
    cfg.port = hp.port;
  } else if (net === 'unix') {
    cfg.socketPath = addr === '' ? '/tmp/mysql.sock' : addr;
  } else {
    fail('protocol', 'unsupported network before the address: want tcp(host:port) or unix(/path)');
  }

  const query = q >= 0 ? afterSlash.slice(q + 1) : '';
  let collation = '';
  for (const [k, v] of parseQuery(query)) {
    switch (k) {
      case 'charset':
        // A comma list: Go tries each in turn; we take the first the driver knows.
        cfg.charset = pickCharset(v);
        break;
      case 'collation':
        collation = v;
        break;
      case 'timeout':
        cfg.connectTimeoutMs = parseGoDuration(v, 'param:timeout');
        break;
      case 'readTimeout':
        cfg.readTimeoutMs = parseGoDuration(v, 'param:readTimeout');
        break;
      case 'writeTimeout':
        cfg.writeTimeoutMs = parseGoDuration(v, 'param:writeTimeout');
        break;
      case 'tls':
        switch (v.toLowerCase()) {
          case 'true':
            cfg.tls = 'verify-full';
            break;
          case 'skip-verify':
            cfg.tls = 'require';
            break;
          case 'false':
          case 'preferred': // Go: TLS only if the server offers it; mysql2 cannot fall back, so plain.
            cfg.tls = 'disable';
            if (v.toLowerCase() === 'preferred') cfg.ignoredParams.push('tls=preferred');
            break;
          default:
            fail('param:tls', 'custom TLS config names are registered in Go code; want true, false, skip-verify or preferred');
        }
        break;
      default:
        // Known driver knobs with no mysql2 equivalent, and unknown keys (which Go would send
        // as `SET k=v` session variables; we do not run admin-supplied SQL).
        cfg.ignoredParams.push(k);
    }
  }
  if (collation !== '') cfg.charset = collation;
  return cfg;
}

/** Charsets the MySQL side accepts here; mysql2 resolves names case-insensitively. */
const MYSQL_CHARSETS = new Set(['utf8mb4', 'utf8', 'utf8mb3', 'latin1', 'ascii', 'binary']);

function pickCharset(list: string): string {
  for (const c of list.split(',')) {
    const t = c.trim().toLowerCase();
    if (MYSQL_CHARSETS.has(t)) return t === 'utf8mb3' ? 'utf8' : t;
  }
  return fail('param:charset', `no supported charset in the list (want one of ${[...MYSQL_CHARSETS].join(', ')})`);
}

function splitHostPort(addr: string, defPort: number): { host: string; port: number } {
  if (addr.startsWith('[')) {
    const close = addr.indexOf(']');
    if (close < 0) fail('address', 'unterminated IPv6 literal');
    const host = addr.slice(1, close);
    const rest = addr.slice(close + 1);
    if (rest === '') return { host, port: defPort };
    if (!rest.startsWith(':')) fail('address', 'unexpected text after IPv6 literal');
    return { host, port: parsePort(rest.slice(1)) };
  }
  const colon = addr.lastIndexOf(':');
  if (colon < 0) return { host: addr, port: defPort };
  if (addr.indexOf(':') !== colon) return { host: addr, port: defPort }; // bare IPv6
  const host = addr.slice(0, colon);
  if (host === '') fail('address', 'empty host');
  return { host, port: parsePort(addr.slice(colon + 1)) };
}

// ─── shared helpers ──────────────────────────────────────────────────────────

function parsePort(s: string): number {
  if (!/^\d{1,5}$/.test(s)) fail('port', 'not a port number (want 1–65535)');
  const p = Number(s);
  if (p < 1 || p > 65535) fail('port', 'outside 1–65535');
  return p;
}

/** Percent-decoding; on failure the error names the field, never the text (it may be the password). */
function decodeOrFail(s: string, field: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return fail(field, 'invalid percent-encoding');
  }
}

/** Go url.ParseQuery: `&`-separated, `+` means space, values percent-decoded. */
function parseQuery(q: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (q === '') return out;
  for (const part of q.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawK = eq >= 0 ? part.slice(0, eq) : part;
    const rawV = eq >= 0 ? part.slice(eq + 1) : '';
    const k = decodeOrFail(rawK.replace(/\+/g, ' '), 'param');
    const field = k === 'password' ? 'password' : `param:${k}`;
    out.push([k, decodeOrFail(rawV.replace(/\+/g, ' '), field)]);
  }
  return out;
}

const GO_DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go time.ParseDuration (non-negative), in milliseconds. `0` alone is allowed. */
export function parseGoDuration(s: string, field = 'duration'): number {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let i = 0;
  let total = 0;
  if (s.length === 0) fail(field, 'empty duration');
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (m === null) fail(field, 'not a Go duration (e.g. 30s, 1m30s, 500ms)');
    total += Number(m[1]) * GO_DURATION_UNITS[m[2]!]!;
    i = re.lastIndex;
  }
  return Math.round(total);
}

/**
 * Renders a config for logs: driver, user, endpoint and database, with the password masked.
 * Safe to log.
 */
export function describeDataSource(cfg: DataSourceConfig): string {
  const endpoint = cfg.socketPath !== '' ? `unix:${cfg.socketPath}` : cfg.host.includes(':') ? `[${cfg.host}]:${cfg.port}` : `${cfg.host}:${cfg.port}`;
  const cred = cfg.password !== '' ? `${cfg.user}:***@` : cfg.user !== '' ? `${cfg.user}@` : '';
  return `${cfg.driver}://${cred}${endpoint}/${cfg.database}`;
}
