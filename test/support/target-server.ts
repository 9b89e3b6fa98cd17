/**
 * A real HTTP scrape target for tests and benches: one server on 127.0.0.1:0 serving
 * many targets, one per path. Each path has a handler that decides the reply from
 * the request index, counted separately per scraper (User-Agent), so Prometheus and
 * mm-metrics scraping the same path see the same sequence of bodies whatever their
 * phase: the k-th scrape of each side gets body k.
 *
 *   server.define('/a', mattermostTarget({ series: 500 }))       realistic body
 *   server.define('/b', (r) => r.index < 3 ? text('x 1\n') : down())
 *   server.define('/c', hang())                                  never answers
 *   await server.stopListening() / startListening()              connection refused, same port
 *
 * Replies can be gzip-compressed (when the request accepts it), HTML pages, any
 * status, a destroyed socket, a delay, or a hang. Everything is closed by `close()`.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import zlib from 'node:zlib';
import { buildMattermostExposition, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, type ExpositionFormat } from './mm-exposition.js';

/** What a handler sees of one request. */
export interface TargetRequest {
  /** 0-based index of this request for (path, scraper). */
  index: number;
  /** User-Agent of the scraper (e.g. `Prometheus/2.42.0+ds`, `mm-metrics/0.1.0`). */
  scraper: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
}

/** How to answer. */
export interface TargetReply {
  status?: number;
  contentType?: string | null;
  body?: string | Uint8Array;
  /** Compress with gzip when the request accepts it. */
  gzip?: boolean;
  /** Never answer (the socket stays open until the client gives up or the server closes). */
  hang?: boolean;
  /** Destroy the socket without answering (the target "goes down" mid-connection). */
  destroy?: boolean;
  /** Answer after this many ms. */
  delayMs?: number;
  headers?: Record<string, string>;
}

export type TargetHandler = (req: TargetRequest) => TargetReply;

export function text(body: string | Uint8Array, contentType: string | null = TEXT_CONTENT_TYPE): TargetReply {
  return { status: 200, contentType, body };
}

export function openMetrics(body: string | Uint8Array): TargetReply {
  return { status: 200, contentType: OPENMETRICS_CONTENT_TYPE, body };
}

export function html(): TargetReply {
  return {
    status: 200,
    contentType: 'text/html; charset=utf-8',
    body: '<!DOCTYPE html>\n<html><head><title>Mattermost</title></head><body><div id="root"></div></body></html>\n',
  };
}

export function status(code: number, body = ''): TargetReply {
  return { status: code, contentType: 'text/plain', body };
}

export function down(): TargetReply {
  return { destroy: true };
}

export function hang(): TargetHandler {
  return () => ({ hang: true });
}

export interface MattermostTargetOptions {
  series?: number;
  seed?: number;
  format?: ExpositionFormat;
  gzip?: boolean;
  created?: boolean;
}

/**
 * Realistic Mattermost metrics; counters grow with the request index. The query
 * string can override the options per request: `?format=openmetrics&series=500&seed=3&gzip=1`
 * (so one path serves both formats, e.g. as Prometheus `params`).
 */
export function mattermostTarget(o: MattermostTargetOptions = {}): TargetHandler {
  return (r) => {
    const q = r.url.searchParams;
    const format: ExpositionFormat = (q.get('format') as ExpositionFormat | null) ?? o.format ?? 'text';
    const series = q.has('series') ? Number(q.get('series')) : (o.series ?? 2000);
    const seed = q.has('seed') ? Number(q.get('seed')) : (o.seed ?? 1);
    const gzip = q.has('gzip') ? q.get('gzip') === '1' : (o.gzip ?? false);
    return {
      status: 200,
      contentType: format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE,
      body: buildMattermostExposition({ series, seed, format, scrapeIndex: r.index, created: o.created ?? false }),
      gzip,
    };
  };
}

/** Picks a handler by request index: `steps[i]` for index i, the last one afterwards. */
export function sequence(...steps: Array<TargetHandler | TargetReply>): TargetHandler {
  return (r) => {
    const s = steps[Math.min(r.index, steps.length - 1)]!;
    return typeof s === 'function' ? s(r) : s;
  };
}

export class TargetServer {
  private readonly server: http.Server;
  private readonly handlers = new Map<string, TargetHandler>();
  private readonly counters = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  port = 0;

  private constructor() {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  /** Starts on 127.0.0.1 and a free port (or `port`). */
  static async start(port = 0): Promise<TargetServer> {
    const t = new TargetServer();
    await t.listen(port);
    return t;
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  /** `host:port` for scrape configs. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  url(path: string): string {
    return `http://${this.address}${path}`;
  }

  /** Sets (or replaces) the handler of a path. Replacing keeps the request counters. */
  define(path: string, h: TargetHandler): this {
    this.handlers.set(path, h);
    return this;
  }

  /** Requests served so far on `path` (any query unless `path` has one; all scrapers, or one User-Agent prefix). */
  requests(path: string, scraperPrefix = ''): number {
    let n = 0;
    for (const [k, v] of this.counters) {
      const [p, ua] = k.split('\u0000') as [string, string];
      const match = path.includes('?') ? p === path : p.split('?')[0] === path;
      if (match && ua.startsWith(scraperPrefix)) n += v;
    }
    return n;
  }

  /** Closes the listening socket and every connection: scrapes get "connection refused". */
  async stopListening(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Listens again on the same port. */
  async startListening(): Promise<void> {
    await this.listen(this.port);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.sockets) s.destroy();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', `http://${this.address}`);
    const h = this.handlers.get(url.pathname);
    if (h === undefined) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    const scraper = String(req.headers['user-agent'] ?? '');
    // Count per full URL (path + query) and scraper, so two jobs scraping one path with
    // different params keep separate sequences.
    const key = url.pathname + url.search + '\u0000' + scraper;
    const index = this.counters.get(key) ?? 0;
    this.counters.set(key, index + 1);
    let reply: TargetReply;
    try {
      reply = h({ index, scraper, url, headers: req.headers });
    } catch (e) {
      res.writeHead(500, { 'Content-Type': 'text/plain' }).end(String(e));
      return;
    }
    const send = (): void => {
      if (reply.hang) return;
      if (reply.destroy) {
        req.socket.destroy();
        return;
      }
      let body: Uint8Array = typeof reply.body === 'string' ? Buffer.from(reply.body, 'utf8') : (reply.body ?? new Uint8Array(0));
      const headers: Record<string, string> = { ...(reply.headers ?? {}) };
      if (reply.contentType !== null) headers['Content-Type'] = reply.contentType ?? TEXT_CONTENT_TYPE;
      if (reply.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
        body = zlib.gzipSync(body);
        headers['Content-Encoding'] = 'gzip';
      }
      headers['Content-Length'] = String(body.length);
      res.writeHead(reply.status ?? 200, headers);
      res.end(body);
    };
    if (reply.delayMs !== undefined && reply.delayMs > 0) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        send();
      }, reply.delayMs);
      this.timers.add(t);
    } else send();
  }
}
