/**
 * Secrets out of logs. redact(config) returns a copy safe to log in full; dsnWithoutPassword
 * drops the password from any DataSource form Mattermost accepts:
 *
 *   postgres://mmuser:pw@db:5432/mattermost?sslmode=disable   → postgres://mmuser@db:5432/mattermost?sslmode=disable
 *   host=db user=mmuser password='p w' dbname=mattermost       → host=db user=mmuser dbname=mattermost
 *   mmuser:pw@tcp(db:3306)/mattermost?charset=utf8mb4         → mmuser@tcp(db:3306)/mattermost?charset=utf8mb4
 *   mysql://mmuser:pw@tcp(db:3306)/mattermost                  → mysql://mmuser@tcp(db:3306)/mattermost
 *
 * A `password=` query parameter is removed too. Text that matches none of the forms is
 * replaced whole by "[REDACTED]": when in doubt, print nothing.
 */
import type { Config } from './types.js';

export const REDACTED = '[REDACTED]';

/** Removes `password=…` pairs from a query string ("a=1&password=x&b=2" → "a=1&b=2"). */
function dropQueryPassword(q: string): string {
  return q
    .split('&')
    .filter((kv) => !/^password=/i.test(kv))
    .join('&');
}

function splitQuery(s: string): [string, string] {
  const i = s.indexOf('?');
  return i === -1 ? [s, ''] : [s.slice(0, i), s.slice(i + 1)];
}

function withQuery(base: string, q: string): string {
  const rest = dropQueryPassword(q);
  return rest === '' ? base : `${base}?${rest}`;
}

/** Returns `dsn` without its password (see the file comment for the forms). */
export function dsnWithoutPassword(dsn: string): string {
  const s = dsn.trim();
  if (s === '') return '';

  // URL form: scheme://[user[:password]@]host…  Everything before the LAST "@" is userinfo, so
  // a password with an unencoded "@", "/" or "?" is still removed whole. (An "@" inside a query
  // value then mangles the output, which is acceptable: it can only drop text, never show it.)
  const url = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/i.exec(s);
  if (url !== null) {
    const rest = url[2]!;
    const at = rest.lastIndexOf('@');
    if (at === -1) {
      const [base, q] = splitQuery(rest);
      return withQuery(url[1] + base, q);
    }
    const user = rest.slice(0, at).split(':')[0]!;
    const [host, q] = splitQuery(rest.slice(at + 1));
    return withQuery(`${url[1]}${user === '' ? '' : user + '@'}${host}`, q);
  }

  // lib/pq key=value form: space-separated pairs, values optionally single-quoted with \' escapes.
  if (/^\s*[a-z_]+\s*=/i.test(s)) {
    const pairs = s.match(/[a-z_]+\s*=\s*(?:'(?:\\.|[^'\\])*'|\S*)/gi);
    if (pairs === null) return REDACTED;
    return pairs.filter((p) => !/^password\s*=/i.test(p)).join(' ');
  }

  // go-sql-driver/mysql form: [user[:password]@][net[(addr)]]/dbname[?params]. The userinfo
  // ends at the last "@" before the last "/" (the dbname separator), as ParseDSN reads it.
  const [base, q] = splitQuery(s);
  const slash = base.lastIndexOf('/');
  if (slash === -1) return REDACTED;
  const at = base.lastIndexOf('@', slash);
  if (at === -1) return withQuery(base, q);
  const user = base.slice(0, at).split(':')[0]!;
  return withQuery(`${user === '' ? '' : user + '@'}${base.slice(at + 1)}`, q);
}

/** Drops the password of an http(s) URL with userinfo; other text is returned unchanged. */
export function urlWithoutPassword(u: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@(.*)$/i.exec(u);
  if (m === null) return u;
  const user = m[2]!.split(':')[0]!;
  return `${m[1]}${user === '' ? '' : user + '@'}${m[3]}`;
}

function mask(v: string): string {
  return v === '' ? '' : REDACTED;
}

/**
 * A deep copy of `config` that is safe to log: the admin token, S3 access key id and secret
 * are masked, the DataSource loses its password, and URLs lose embedded passwords.
 */
export function redact(config: Config): Config {
  const c = structuredClone(config);
  c.server.adminToken = mask(c.server.adminToken);
  c.server.auth.siteUrl = urlWithoutPassword(c.server.auth.siteUrl);
  c.fileStore.s3.accessKeyId = mask(c.fileStore.s3.accessKeyId);
  c.fileStore.s3.secretAccessKey = mask(c.fileStore.s3.secretAccessKey);
  c.cluster.database.dataSource = dsnWithoutPassword(c.cluster.database.dataSource);
  c.targets.calls.rtcdUrl = urlWithoutPassword(c.targets.calls.rtcdUrl);
  return c;
}
