/**
 * Admin authentication for the API, in two modes.
 *
 * static       `Authorization: Bearer <token>` (or `Token <token>`) compared in constant
 *              time with the token from the data dir (token.ts). Cookies are ignored, so
 *              there is no CSRF surface.
 *
 * mattermost   The caller's Mattermost session or personal access token, from
 *              `Authorization: Bearer|Token …` or the `MMAUTHTOKEN` cookie
 *              (../shared/mattermost/FACTS.md §8). It is validated with
 *              `GET {SiteURL}/api/v4/users/me`; only a user whose `roles` contain
 *              `system_admin` and whose `delete_at` is 0 is admitted. A cookie-carried
 *              token on a non-GET request must also pass Mattermost's CSRF rule:
 *              `X-CSRF-Token` equal to the `MMCSRF` cookie, or (unless strict)
 *              `X-Requested-With: XMLHttpRequest`.
 *
 *   request ─► token? ──no──► 401
 *                 │yes
 *                 ▼
 *          cache[sha256(token)] fresh? ──yes──► admitted / 403 / 401 as cached
 *                 │no (one in-flight lookup per token)
 *                 ▼
 *          /api/v4/users/me ── 200 + system_admin + not deleted ─► admitted
 *                 ├─ 200 otherwise ─► 403      ├─ 401/403 ─► 401
 *                 └─ network error / 5xx ─► 502 (not cached)
 *
 * Results are cached for `cacheTtlMs` (default 30 s) keyed by a hash of the token, so a
 * revoked session or a demoted admin loses access within that time. Tokens are never
 * logged or put in error messages.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { AuthConfig, MattermostAuthConfig } from './deps.js';
import { constantTimeEqual, tokenKey } from './token.js';

/** Who made the request (attached to the request for logs: never the token). */
export type Principal =
  | { kind: 'static' }
  | { kind: 'mattermost'; user_id: string; username: string; via: 'header' | 'cookie' }
  | { kind: 'ticket' };

/** An auth failure with the HTTP status to answer (401, 403, 502). */
export class AuthError extends Error {
  readonly code = 'MM_ERR_AUTH';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'AuthError';
    this.status = status;
  }
}

export interface Authenticator {
  readonly mode: AuthConfig['mode'];
  /** Resolves the principal or throws AuthError. */
  authenticate(method: string, headers: IncomingHttpHeaders): Promise<Principal>;
}

export function createAuthenticator(cfg: AuthConfig, now: () => number = Date.now): Authenticator {
  if (cfg.mode === 'static') {
    if (!cfg.token || cfg.token.length < 16) throw new Error('static auth: token must be at least 16 characters');
    return new StaticAuthenticator(cfg.token);
  }
  return new MattermostAuthenticator(cfg, now);
}

/** `Bearer x` / `Token x` (scheme case-insensitive, as Mattermost accepts) → x, else null. */
export function bearerToken(headers: IncomingHttpHeaders): string | null {
  const h = headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^(bearer|token)[ \t]+(\S+)[ \t]*$/i.exec(h);
  return m ? (m[2] as string) : null;
}

/** Parses a Cookie header into a map (first occurrence of a name wins). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (!name || out.has(name)) continue;
    try {
      out.set(name, decodeURIComponent(value));
    } catch {
      out.set(name, value);
    }
  }
  return out;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

class StaticAuthenticator implements Authenticator {
  readonly mode = 'static' as const;
  private readonly token: string;

  constructor(token: string) {
    this.token = token;
  }

  async authenticate(_method: string, headers: IncomingHttpHeaders): Promise<Principal> {
    const t = bearerToken(headers);
    if (t === null) throw new AuthError(401, 'missing admin token: send "Authorization: Bearer <token>"');
    if (!constantTimeEqual(t, this.token)) throw new AuthError(401, 'invalid admin token');
    return { kind: 'static' };
  }
}

interface CacheEntry {
  until: number;
  /** Admitted principal, or the failure to repeat. */
  principal: Principal | null;
  status: number;
  message: string;
}

/** Upper bound on cached tokens; the oldest entry goes first (Map keeps insertion order). */
const MAX_CACHE_ENTRIES = 1000;

class MattermostAuthenticator implements Authenticator {
  readonly mode = 'mattermost' as const;
  private readonly meURL: string;
  private readonly ttl: number;
  private readonly timeout: number;
  private readonly strictCsrf: boolean;
  private readonly now: () => number;
  private readonly cache: Map<string, CacheEntry>;
  private readonly inflight: Map<string, Promise<CacheEntry>>;
  /** Calls made to Mattermost (exposed for tests and metrics). */
  lookups: number;

  constructor(cfg: MattermostAuthConfig, now: () => number) {
    let base: URL;
    try {
      base = new URL(cfg.siteURL);
    } catch {
      throw new Error(`mattermost auth: siteURL ${JSON.stringify(cfg.siteURL)} is not a URL`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('mattermost auth: siteURL must be http(s)');
    this.meURL = base.href.replace(/\/+$/, '') + '/api/v4/users/me';
    this.ttl = cfg.cacheTtlMs ?? 30_000;
    this.timeout = cfg.requestTimeoutMs ?? 5_000;
    this.strictCsrf = cfg.strictCsrf ?? false;
    this.now = now;
    this.cache = new Map();
    this.inflight = new Map();
    this.lookups = 0;
  }

  async authenticate(method: string, headers: IncomingHttpHeaders): Promise<Principal> {
    let token = bearerToken(headers);
    let via: 'header' | 'cookie' = 'header';
    if (token === null) {
      const cookies = parseCookies(headers.cookie);
      const c = cookies.get('MMAUTHTOKEN');
      if (!c) throw new AuthError(401, 'not logged in: send a Mattermost token ("Authorization: Bearer <token>") or the MMAUTHTOKEN cookie');
      token = c;
      via = 'cookie';
      if (!SAFE_METHODS.has(method.toUpperCase())) this.checkCsrf(headers, cookies);
    }
    const key = tokenKey(token);
    const entry = await this.lookup(key, token);
    if (!entry.principal) throw new AuthError(entry.status, entry.message);
    return entry.principal.kind === 'mattermost' ? { ...entry.principal, via } : entry.principal;
  }

  private checkCsrf(headers: IncomingHttpHeaders, cookies: Map<string, string>): void {
    const sent = headers['x-csrf-token'];
    const expected = cookies.get('MMCSRF');
    if (typeof sent === 'string' && sent !== '' && expected && constantTimeEqual(sent, expected)) return;
    if (!this.strictCsrf && headers['x-requested-with'] === 'XMLHttpRequest') return;
    throw new AuthError(401, 'CSRF check failed: a cookie-authenticated request that changes state needs an X-CSRF-Token header equal to the MMCSRF cookie' + (this.strictCsrf ? '' : ' (or X-Requested-With: XMLHttpRequest)'));
  }

  private async lookup(key: string, token: string): Promise<CacheEntry> {
    const now = this.now();
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit;
    if (hit) this.cache.delete(key);
    let p = this.inflight.get(key);
    if (!p) {
      p = this.fetchMe(token).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    const entry = await p;
    if (entry.until > 0 && !this.cache.has(key)) {
      this.cache.set(key, entry);
      if (this.cache.size > MAX_CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
    }
    return entry;
  }

  /** One call to /api/v4/users/me. Failures of Mattermost itself are not cached (until = 0). */
  private async fetchMe(token: string): Promise<CacheEntry> {
    this.lookups++;
    const until = this.now() + this.ttl;
    let res: Response;
    try {
      res = await fetch(this.meURL, {
        headers: { authorization: `Bearer ${token}`, 'x-requested-with': 'XMLHttpRequest', accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeout),
      });
    } catch (e) {
      return { until: 0, principal: null, status: 502, message: `cannot validate the token with Mattermost at ${this.meURL}: ${(e as Error).message}` };
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      return { until, principal: null, status: 401, message: 'Mattermost rejected the token (expired or revoked session?)' };
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      return { until: 0, principal: null, status: 502, message: `cannot validate the token: Mattermost answered ${res.status} for /api/v4/users/me` };
    }
    let user: { id?: unknown; username?: unknown; roles?: unknown; delete_at?: unknown };
    try {
      user = (await res.json()) as typeof user;
    } catch {
      return { until: 0, principal: null, status: 502, message: 'cannot validate the token: /api/v4/users/me did not return JSON' };
    }
    const roles = typeof user.roles === 'string' ? user.roles.split(/\s+/) : [];
    const username = typeof user.username === 'string' ? user.username : '';
    if (user.delete_at !== 0) {
      return { until, principal: null, status: 403, message: `user ${username} is deactivated (delete_at is not 0)` };
    }
    if (!roles.includes('system_admin')) {
      return { until, principal: null, status: 403, message: `user ${username} is not a system admin (needs the system_admin role)` };
    }
    return { until, principal: { kind: 'mattermost', user_id: String(user.id ?? ''), username, via: 'header' }, status: 200, message: '' };
  }
}
