/**
 * The HTTP side of a scrape (Prometheus scrape.go `targetScraper.scrape`):
 * GET with the exact Accept header of 2.42, gzip, status must be 200, the body read
 * under a size limit, the whole request + body under one timeout.
 *
 * One `TargetFetcher` per target, used by one scrape loop at a time (scrapes of a
 * target never overlap). It owns a growable body buffer that is reused across
 * scrapes: the body returned by `fetch()` is a view into it and stays valid only
 * until the next `fetch()`. This keeps a steady-state scrape free of per-body
 * allocations beyond the socket's own chunks: a gzip body is collected compressed in the
 * buffer and inflated in one call into the target's reusable output (gunzip.ts).
 */
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { ScrapeError, ScrapeErrorCode } from './errors.js';
import { formatSeconds } from './duration.js';
import { GunzipError, ReusableGunzip } from './gunzip.js';
import { ShrinkPolicy } from './shrink.js';

/** Prometheus 2.42's `scrapeAcceptHeader` (without native histograms). */
export const SCRAPE_ACCEPT_HEADER =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

/** Sent as User-Agent; Prometheus sends `Prometheus/<version>`. */
export const DEFAULT_USER_AGENT = 'mm-metrics/0.1.0';

const MAX_REDIRECTS = 10;
const MIN_BUFFER = 16 * 1024;
/**
 * With a body size limit, compressed bytes beyond `2 × limit + this` are refused as
 * over the limit without inflating them: deflate never shrinks data that much the
 * other way, only gzip header padding (FEXTRA/FCOMMENT) could make such a body
 * decompress below the limit.
 */
const GZIP_SLACK = 1 << 20;

export interface FetchOptions {
  /** ms for the whole request and body read. */
  timeout: number;
  /** Bytes of decompressed body; `>= limit` fails. 0 = none. */
  bodySizeLimit: number;
  userAgent: string;
  /** Extra request headers (e.g. Authorization); never logged. */
  headers: Readonly<Record<string, string>>;
  /** Accept self-signed certificates on https targets. */
  insecureSkipVerify: boolean;
}

export function defaultFetchOptions(): FetchOptions {
  return { timeout: 10_000, bodySizeLimit: 0, userAgent: DEFAULT_USER_AGENT, headers: {}, insecureSkipVerify: false };
}

/** What one successful fetch returns; `body` is owned by the fetcher (see file comment). */
export interface FetchResult {
  body: Uint8Array;
  contentType: string;
}

export class TargetFetcher {
  readonly url: string;
  private readonly opts: FetchOptions;
  private readonly agent: http.Agent;
  private buf: Uint8Array;
  private len: number;
  /** Halves `buf` after a run of small bodies. */
  private readonly shrink: ShrinkPolicy;
  /** Capacity to shrink `buf` to at the start of the next fetch (0 = keep). */
  private pendingShrink: number;
  /** Inflates gzip bodies into an output buffer reused across scrapes. */
  private readonly gunzip: ReusableGunzip;
  /** The inflated gzip body of the fetch in progress, handed out by `finish`. */
  private inflated: Uint8Array | null;

  constructor(url: string, opts: Partial<FetchOptions> = {}) {
    this.url = url;
    this.opts = { ...defaultFetchOptions(), ...opts };
    const isHttps = url.startsWith('https:');
    // Keep-alive like Go's transport: a target scraped every few seconds reuses its connection.
    this.agent = isHttps
      ? new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: !this.opts.insecureSkipVerify })
      : new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.buf = new Uint8Array(MIN_BUFFER);
    this.len = 0;
    this.shrink = new ShrinkPolicy(MIN_BUFFER);
    this.pendingShrink = 0;
    this.gunzip = new ReusableGunzip();
    this.inflated = null;
  }

  /** Releases pooled connections. */
  close(): void {
    this.agent.destroy();
    this.gunzip.close();
  }

  /**
   * Performs one scrape request. Resolves with the body (a view valid until the next
   * call) or rejects with a `ScrapeError` (code says which failure). `signal` aborts
   * early (loop stopping); it is reported as a timeout-like fetch error.
   */
  fetch(signal?: AbortSignal): Promise<FetchResult> {
    // The previous body view is released now (see class comment), so the buffer may shrink.
    if (this.pendingShrink > 0) {
      this.buf = new Uint8Array(this.pendingShrink);
      this.pendingShrink = 0;
    }
    this.len = 0;
    this.inflated = null;
    return new Promise<FetchResult>((resolve, reject) => {
      let done = false;
      let current: http.ClientRequest | null = null;
      let stream: Readable | null = null;
      const finish = (err: ScrapeError | null, contentType = ''): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err !== null) {
          if (stream !== null) stream.destroy();
          if (current !== null) current.destroy();
          reject(err);
          return;
        }
        const inflated = this.inflated;
        if (inflated !== null) {
          this.inflated = null;
          resolve({ body: inflated, contentType });
          return;
        }
        this.maybeShrink();
        resolve({ body: this.buf.subarray(0, this.len), contentType });
      };
      const timer = setTimeout(() => {
        finish(new ScrapeError(ScrapeErrorCode.Timeout, `Get ${JSON.stringify(this.url)}: context deadline exceeded`));
      }, this.opts.timeout);
      const onAbort = (): void => finish(new ScrapeError(ScrapeErrorCode.Fetch, `Get ${JSON.stringify(this.url)}: context canceled`));
      if (signal !== undefined) {
        if (signal.aborted) {
          onAbort();
          return;
        }
        signal.addEventListener('abort', onAbort, { once: true });
      }

      const request = (target: string, redirects: number, retried: boolean): void => {
        let u: URL;
        try {
          u = new URL(target);
        } catch {
          finish(new ScrapeError(ScrapeErrorCode.Fetch, `Get ${JSON.stringify(target)}: invalid URL`));
          return;
        }
        const mod = u.protocol === 'https:' ? https : http;
        const req = mod.request(u, {
          method: 'GET',
          agent: u.protocol === (this.url.startsWith('https:') ? 'https:' : 'http:') ? this.agent : undefined,
          headers: {
            ...this.opts.headers,
            Accept: SCRAPE_ACCEPT_HEADER,
            'Accept-Encoding': 'gzip',
            'User-Agent': this.opts.userAgent,
            'X-Prometheus-Scrape-Timeout-Seconds': formatSeconds(this.opts.timeout),
          },
        });
        current = req;
        let gotResponse = false;
        req.on('error', (e: NodeJS.ErrnoException) => {
          // A kept-alive socket the server closed while idle fails on first use; Go's
          // transport retries such idempotent requests once, and so do we.
          if (!retried && !gotResponse && req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE') && !done) {
            request(target, redirects, true);
            return;
          }
          finish(new ScrapeError(ScrapeErrorCode.Fetch, `Get ${JSON.stringify(target)}: ${describeNetError(e, u)}`, { cause: e }));
        });
        req.on('response', (res) => {
          gotResponse = true;
          const status = res.statusCode ?? 0;
          if (status >= 300 && status < 400 && status !== 304 && res.headers.location !== undefined) {
            res.resume();
            if (redirects >= MAX_REDIRECTS) {
              finish(new ScrapeError(ScrapeErrorCode.Fetch, `Get ${JSON.stringify(target)}: stopped after ${MAX_REDIRECTS} redirects`));
              return;
            }
            request(new URL(res.headers.location, u).toString(), redirects + 1, false);
            return;
          }
          if (status !== 200) {
            res.resume();
            finish(new ScrapeError(ScrapeErrorCode.HttpStatus, `server returned HTTP status ${status} ${res.statusMessage ?? http.STATUS_CODES[status] ?? ''}`.trimEnd()));
            return;
          }
          const contentType = headerString(res.headers['content-type']);
          const gzip = res.headers['content-encoding'] === 'gzip';
          stream = res;
          const limit = this.opts.bodySizeLimit;
          // gzip: the compressed body (small) is collected in the same buffer and
          // inflated in one synchronous call at the end, into the target's reusable
          // output (gunzip.ts). A gunzip stream costs ~35 % more CPU (threadpool
          // hand-offs and a callback per output chunk) for the same bytes.
          const zlimit = gzip && limit > 0 ? 2 * limit + GZIP_SLACK : 0;
          res.on('data', (chunk: Buffer) => {
            if (done) return;
            this.write(chunk);
            if (gzip ? zlimit > 0 && this.len >= zlimit : limit > 0 && this.len >= limit) {
              finish(new ScrapeError(ScrapeErrorCode.BodySizeLimit, `body size limit exceeded`));
            }
          });
          res.on('error', (e: Error) => {
            finish(new ScrapeError(ScrapeErrorCode.Fetch, `reading body: ${e.message}`, { cause: e }));
          });
          res.on('end', () => {
            if (done) return;
            if (!gzip) {
              finish(null, contentType);
              return;
            }
            let out: Uint8Array;
            try {
              // `>= limit` fails, as for plain bodies.
              out = this.gunzip.inflate(this.buf.subarray(0, this.len), limit);
            } catch (e) {
              if (e instanceof GunzipError && e.code === 'too_large') {
                finish(new ScrapeError(ScrapeErrorCode.BodySizeLimit, `body size limit exceeded`));
              } else {
                finish(new ScrapeError(ScrapeErrorCode.Fetch, `gzip: ${(e as Error).message}`, { cause: e }));
              }
              return;
            }
            this.inflated = out;
            finish(null, contentType);
          });
          res.on('aborted', () => finish(new ScrapeError(ScrapeErrorCode.Fetch, 'reading body: unexpected EOF')));
        });
        req.end();
      };
      request(this.url, 0, false);
    });
  }

  /** Appends a chunk to the body buffer, doubling it when full. */
  private write(chunk: Uint8Array): void {
    const need = this.len + chunk.length;
    if (need > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < need) cap *= 2;
      const nb = new Uint8Array(cap);
      nb.set(this.buf.subarray(0, this.len));
      this.buf = nb;
    }
    this.buf.set(chunk, this.len);
    this.len = need;
  }

  /**
   * Halves the buffer after a run of small bodies (ShrinkPolicy). The body view handed out
   * by this fetch still points into the current buffer, so the shrink happens at the next fetch.
   */
  private maybeShrink(): void {
    const cap = this.shrink.after(this.len, this.buf.length);
    if (cap > 0) this.pendingShrink = cap;
  }
}

function headerString(v: string | string[] | undefined): string {
  if (v === undefined) return '';
  return Array.isArray(v) ? (v[0] ?? '') : v;
}

/** Go-like wording for common socket errors, e.g. `dial tcp 127.0.0.1:1: connect: connection refused`. */
function describeNetError(e: NodeJS.ErrnoException, u: URL): string {
  const hostport = u.host.includes(':') ? u.host : `${u.host}:${u.protocol === 'https:' ? 443 : 80}`;
  switch (e.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${hostport}: connect: connection refused`;
    case 'ECONNRESET':
      return `read tcp ${hostport}: connection reset by peer`;
    case 'ENOTFOUND':
      return `dial tcp: lookup ${u.hostname}: no such host`;
    case 'EHOSTUNREACH':
      return `dial tcp ${hostport}: connect: no route to host`;
    default:
      return e.message;
  }
}
