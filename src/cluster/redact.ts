/**
 * Keeps database passwords out of error messages and log lines.
 *
 * Two nets, because either alone leaks: the known secrets (the parsed password, in every
 * spelling it can take inside a DSN) are replaced wherever they appear, and anything that
 * looks like a credential-bearing DSN or `password=` pair is masked even when the secret is
 * not known (a DSN typed into a different field, a driver echoing its config).
 */

/** What replaces a secret. */
export const REDACTED = '***';

/** Logger shape used by the cluster layer; a pino logger satisfies it. */
export interface ClusterLogger {
  debug(obj: Record<string, unknown>, msg: string): void;
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

/** Discards everything; the default when no logger is given. */
export const nopLogger: ClusterLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

// scheme://user:secret@  → keep scheme and user.
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):([^@\s]*)@/gi;
// Go MySQL DSN user:secret@tcp( / @unix( / @/ — the password may itself contain ':' or '@',
// so match up to the last '@' that is followed by a protocol or '/'.
const GO_MYSQL_CREDENTIALS = /(^|[\s"'=(,])([^\s:@/"'=(,]+):(\S*)@(?=(?:tcp|tcp6|unix)\(|\/)/gi;
// key=value forms: password=secret, password='sec ret', and the lib/pq URL query ?password=.
const KV_PASSWORD = /(\b(?:password|passwd|pwd)\s*=\s*)('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s&;,]+)/gi;

/**
 * Replaces known secrets and credential-looking fragments. Instances are cheap; one per
 * `Db` holds that data source's password. `add()` may be called later (e.g. for a replica).
 */
export class Redactor {
  private secrets: string[];

  constructor(secrets: Iterable<string> = []) {
    this.secrets = [];
    for (const s of secrets) this.add(s);
  }

  /** Registers a secret and its URL/percent-encoded spellings. Empty secrets are ignored. */
  add(secret: string): void {
    if (secret.length === 0) return;
    const forms = new Set<string>([secret]);
    forms.add(encodeURIComponent(secret));
    try {
      forms.add(encodeURI(secret));
    } catch {
      // lone surrogates: encodeURI throws; the raw form is still covered.
    }
    forms.add(secret.replace(/'/g, "\\'"));
    for (const f of forms) if (f.length > 0 && !this.secrets.includes(f)) this.secrets.push(f);
    // Longest first so a secret that contains another is replaced whole.
    this.secrets.sort((a, b) => b.length - a.length);
  }

  /** Returns `text` with every secret and credential-looking fragment masked. */
  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) {
      if (out.includes(s)) out = out.split(s).join(REDACTED);
    }
    out = out.replace(URL_CREDENTIALS, `$1:${REDACTED}@`);
    out = out.replace(GO_MYSQL_CREDENTIALS, `$1$2:${REDACTED}@`);
    out = out.replace(KV_PASSWORD, `$1${REDACTED}`);
    return out;
  }

  /** Redacts every string inside a log object (one level of nesting into plain objects and errors). */
  redactFields(obj: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) out[k] = this.redactValue(v, 0);
    return out;
  }

  private redactValue(v: unknown, depth: number): unknown {
    if (typeof v === 'string') return this.redact(v);
    if (v instanceof Error) {
      // Loggers print message and stack; give them redacted copies only.
      const e: Record<string, unknown> = { type: v.name, message: this.redact(v.message) };
      if (v.stack !== undefined) e.stack = this.redact(v.stack);
      const code = (v as { code?: unknown }).code;
      if (code !== undefined) e.code = code;
      return e;
    }
    if (depth < 2 && v !== null && typeof v === 'object') {
      if (Array.isArray(v)) return v.map((x) => this.redactValue(x, depth + 1));
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) o[k] = this.redactValue(x, depth + 1);
      return o;
    }
    return v;
  }
}

/** A logger whose every message and field passes through `redactor` before reaching `inner`. */
export function redactingLogger(inner: ClusterLogger, redactor: Redactor): ClusterLogger {
  return {
    debug: (o, m) => inner.debug(redactor.redactFields(o), redactor.redact(m)),
    info: (o, m) => inner.info(redactor.redactFields(o), redactor.redact(m)),
    warn: (o, m) => inner.warn(redactor.redactFields(o), redactor.redact(m)),
    error: (o, m) => inner.error(redactor.redactFields(o), redactor.redact(m)),
  };
}
