/**
 * The HTTP API and the admin UI, as one fastify instance.
 *
 *   /healthz /readyz /metrics                        open (probes and Prometheus)
 *   /plugins/com.mattermost.mattermost-plugin-metrics/
 *        (index.html, app.js, style.css)             open (the login screen must load)
 *        tsdb/stats  jobs  jobs/{id}  jobs/create     admin only (auth.ts)
 *        jobs/estimate  jobs/delete/{id}  jobs/deleteAll
 *        jobs/download/{id}[?ticket=…]  jobs/download/{id}/ticket  targets
 *        api/v1/admin/tsdb/delete_series, clean_tombstones          admin only (admin-tsdb.ts)
 *   /api/v1/admin/tsdb/delete_series, clean_tombstones              admin only (Prometheus's paths)
 *
 * The base path is the plugin's, so a reverse proxy can route the plugin's URLs (and the
 * Mattermost webapp's calls to them) to this service unchanged. Request lifecycle:
 *
 *   onRequest: auth (API scope only) ─► handler: validate (zod, selector) ─► jobs / stores
 *        └─ any throw ─► error handler: ApiError/4xx → {"error": "..."}; else 500, logged
 *
 * Logging: request lines carry method, path (token-like query values redacted), status
 * and the admin's name; headers are never serialised, and pino redaction covers
 * authorization/cookie paths in case anything logs them.
 */
import Fastify, { LogController, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { DUMP_FILE_NAME } from '../jobs/paths.js';
import { JobStatus, type DumpRequest } from '../jobs/types.js';
import { registerTsdbAdminRoutes } from './admin-tsdb.js';
import { AuthError, createAuthenticator, type Principal } from './auth.js';
import type { ApiDeps } from './deps.js';
import { DownloadTickets, parseRange } from './download.js';
import { ApiError } from './errors.js';
import { defaultWebDir, loadWebAssets, UI_SECURITY_HEADERS } from './static.js';
import { jobNotFound, parseDumpRequest, parseJobId } from './validate.js';

/** Where every route of the plugin lives (Mattermost serves plugins under /plugins/<id>). */
export const BASE_PATH = '/plugins/com.mattermost.mattermost-plugin-metrics';

export const DEFAULT_BODY_LIMIT = 64 * 1024;

/** The fastify instance buildServer returns (listen/close/inject). */
export type ApiServer = Awaited<ReturnType<typeof buildServer>>;

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** Query parameters whose values must never reach a log line. */
const SECRET_QUERY = /([?&](?:ticket|access_token|token|auth)=)[^&#]*/gi;

export function redactUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[REDACTED]');
}

/** A child logger with request serializers that never include headers, and redaction as a backstop. */
export function apiLogger(base: Logger): Logger {
  return base.child(
    { component: 'api' },
    {
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-csrf-token"]', 'headers.authorization', 'headers.cookie', 'authorization', 'cookie', 'token', 'ticket'],
        censor: '[REDACTED]',
      },
      serializers: {
        req: (req: FastifyRequest) => ({ method: req.method, url: redactUrl(req.url), remoteAddress: req.ip }),
        res: (res: FastifyReply) => ({ statusCode: res.statusCode }),
      },
    },
  );
}

export async function buildServer(deps: ApiDeps) {
  const now = deps.now ?? Date.now;
  const auth = createAuthenticator(deps.auth, now);
  const tickets = new DownloadTickets(now);
  const web = await loadWebAssets(deps.webDir ?? defaultWebDir());
  const log = apiLogger(deps.logger);

  const app = Fastify({
    loggerInstance: log,
    bodyLimit: deps.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // No proxy trust: remote addresses in logs are the peer's; a proxy setup can wrap this.
    trustProxy: false,
    return503OnClosing: true,
    // The UI polls every few seconds: one line per request at info would drown the log.
    // onResponse below logs changes and failures at info, reads at debug.
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.decorateRequest('principal', null);
  app.addHook('onResponse', async (req, reply) => {
    const line = { req, res: reply, ms: Math.round(reply.elapsedTime) };
    if (reply.statusCode >= 500) req.log.error(line, 'request failed');
    else if (reply.statusCode >= 400 || (req.method !== 'GET' && req.method !== 'HEAD')) req.log.info(line, 'request completed');
    else req.log.debug(line, 'request completed');
  });

  app.setErrorHandler((err: FastifyError | ApiError | AuthError, req, reply) => {
    if (err instanceof ApiError || err instanceof AuthError) {
      if (err.status === 401) reply.header('www-authenticate', 'Bearer realm="mm-metrics"');
      return reply.code(err.status).send({ error: err.message, ...(err.status === 401 ? { auth_mode: auth.mode } : {}) });
    }
    const status = (err as FastifyError).statusCode ?? 500;
    if (status >= 400 && status < 500) {
      return reply.code(status).send({ error: describeClientError(err as FastifyError, deps.bodyLimit ?? DEFAULT_BODY_LIMIT) });
    }
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: 'internal error (see the server log)' });
  });
  app.setNotFoundHandler((req, reply) => {
    const path = redactUrl(req.url).split('?')[0]!.slice(0, 200);
    reply.code(404).send({ error: `no route ${req.method} ${path}` });
  });

  // ---- open endpoints -------------------------------------------------------------------
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const ok = deps.ready ? await deps.ready() : true;
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready' });
  });
  app.get('/metrics', async (_req, reply) => {
    const text = await deps.metrics.render();
    return reply.type('text/plain; version=0.0.4; charset=utf-8').header('cache-control', 'no-store').send(text);
  });

  // ---- web UI (open: it only holds code; data comes from the authenticated API) --------
  app.get(BASE_PATH, async (_req, reply) => reply.redirect(`${BASE_PATH}/`, 301));
  const sendAsset = (name: string) => async (req: FastifyRequest, reply: FastifyReply) => {
    const a = web.get(name)!;
    reply.headers(UI_SECURITY_HEADERS).header('etag', a.etag).type(a.type);
    if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
    return reply.send(a.body);
  };
  app.get(`${BASE_PATH}/`, sendAsset('index.html'));
  for (const name of web.keys()) app.get(`${BASE_PATH}/${name}`, sendAsset(name));

  // ---- admin API -----------------------------------------------------------------------
  await app.register(
    async (api) => {
      api.addHook('onRequest', async (req, reply) => {
        reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff');
        const q = req.query as { ticket?: unknown };
        if (req.routeOptions.url === `${BASE_PATH}/jobs/download/:id` && q.ticket !== undefined) {
          const id = (req.params as { id?: string }).id ?? '';
          if (!tickets.verify(id, q.ticket)) throw new AuthError(401, 'download link expired or invalid: start the download again');
          req.principal = { kind: 'ticket' };
          return;
        }
        req.principal = await auth.authenticate(req.method, req.headers);
        if (req.principal.kind === 'mattermost') req.log = req.log.child({ user: req.principal.username });
      });

      api.get('/tsdb/stats', async () => deps.stats.stats());

      // Prometheus's TSDB admin API (delete_series, clean_tombstones), in its own scope for the form parser.
      await api.register(async (adm) => registerTsdbAdminRoutes(adm, deps.tsdbAdmin ?? null));

      api.get('/targets', async () => deps.targets.targets());

      api.get('/jobs', async () => deps.jobStore.list());

      api.get('/jobs/:id', async (req) => {
        const id = parseJobId((req.params as { id: string }).id);
        return (await deps.jobStore.get(id)) ?? jobNotFound(id);
      });

      api.post('/jobs/create', async (req) => {
        const dumpReq = parseDumpRequest(req.body);
        await checkHasData(deps, dumpReq);
        const job = await deps.jobs.create(dumpReq);
        req.log.info({ job: job.id, min_t: job.min_t, max_t: job.max_t }, 'dump job created');
        return job;
      });

      api.post('/jobs/estimate', async (req) => {
        const dumpReq = parseDumpRequest(req.body);
        await checkHasData(deps, dumpReq);
        const est = await deps.jobs.estimate(dumpReq);
        return { min_t: dumpReq.min_t, max_t: dumpReq.max_t, bytes: est.bytes, blocks: est.blocks, series: est.series };
      });

      api.delete('/jobs/delete/:id', async (req) => {
        const id = parseJobId((req.params as { id: string }).id);
        const removed = await deps.jobs.delete(id);
        if (!removed) jobNotFound(id);
        req.log.info({ job: id, status: removed.status }, 'dump job deleted');
        return { deleted: id, status: removed.status };
      });

      api.delete('/jobs/deleteAll', async (req) => {
        const n = await deps.jobs.deleteAll();
        req.log.info({ deleted: n }, 'all dump jobs deleted');
        return { deleted: n };
      });

      api.post('/jobs/download/:id/ticket', async (req) => {
        const id = parseJobId((req.params as { id: string }).id);
        const job = await deps.jobStore.get(id);
        if (!job) jobNotFound(id);
        if (job.status !== JobStatus.Success) throw new ApiError(409, `job ${id} is ${job.status}: only finished dumps can be downloaded`);
        const t = tickets.issue(id);
        return { url: `${BASE_PATH}/jobs/download/${id}?ticket=${encodeURIComponent(t.ticket)}`, expires_at: t.expires_at };
      });

      // GET and HEAD explicitly: fastify's automatic HEAD would read the whole stream.
      api.route({ method: ['GET', 'HEAD'], url: '/jobs/download/:id', handler: async (req, reply) => {
        const id = parseJobId((req.params as { id: string }).id);
        const job = await deps.jobStore.get(id);
        if (!job) jobNotFound(id);
        if (job.status !== JobStatus.Success) throw new ApiError(409, `job ${id} is ${job.status}: only finished dumps can be downloaded`);
        if (!job.dump_location) throw new ApiError(409, `job ${id} has no archive`);
        const st = await deps.artifacts.stat(job.dump_location);
        if (!st) throw new ApiError(410, `the archive of job ${id} is missing from the file store`);
        const size = st.size;
        const etag = job.sha256 ? `"${job.sha256}"` : null;
        const ifRange = req.headers['if-range'];
        const range = ifRange !== undefined && ifRange !== etag ? { kind: 'full' as const } : parseRange(req.headers.range, size);
        reply
          .header('content-type', 'application/gzip')
          .header('content-disposition', `attachment; filename="${DUMP_FILE_NAME}"`)
          .header('accept-ranges', 'bytes');
        if (etag) reply.header('etag', etag);
        if (range.kind === 'unsatisfiable') {
          reply.header('content-range', `bytes */${size}`).type('application/json');
          throw new ApiError(416, `range ${JSON.stringify(req.headers.range)} is outside the archive (${size} bytes)`);
        }
        const r = range.kind === 'partial' ? { start: range.start, end: range.end } : undefined;
        const length = r ? r.end - r.start + 1 : size;
        if (r) reply.code(206).header('content-range', `bytes ${r.start}-${r.end}/${size}`);
        reply.header('content-length', String(length));
        if (req.method === 'HEAD') return reply.send();
        if (length === 0) return reply.send('');
        let stream;
        try {
          stream = await deps.artifacts.open(job.dump_location, r);
        } catch (e) {
          req.log.warn({ err: e, job: id }, 'opening the archive failed');
          throw new ApiError(410, `the archive of job ${id} could not be opened`);
        }
        req.log.info({ job: id, bytes: length, partial: !!r }, 'dump download');
        return reply.send(stream);
      } });
    },
    { prefix: BASE_PATH },
  );

  // The same admin TSDB routes at Prometheus's own paths (/api/v1/admin/tsdb/…), same auth.
  await app.register(async (adm) => {
    adm.addHook('onRequest', async (req, reply) => {
      reply.header('cache-control', 'no-store').header('x-content-type-options', 'nosniff');
      req.principal = await auth.authenticate(req.method, req.headers);
      if (req.principal.kind === 'mattermost') req.log = req.log.child({ user: req.principal.username });
    });
    await registerTsdbAdminRoutes(adm, deps.tsdbAdmin ?? null);
  });

  return app;
}

/** A dump of a range without data would be empty: say so up front (4xx, nothing created). */
async function checkHasData(deps: ApiDeps, req: DumpRequest): Promise<void> {
  const s = await deps.stats.stats();
  let min = Infinity;
  let max = -Infinity;
  if (s.num_samples > 0 || s.num_series > 0 || s.max_t > s.min_t) {
    min = s.min_t;
    max = s.max_t - 1; // block maxTime is exclusive
  }
  if (s.head && s.head.num_series > 0 && s.head.max_t >= s.head.min_t) {
    min = Math.min(min, s.head.min_t);
    max = Math.max(max, s.head.max_t);
  }
  if (min > max) throw new ApiError(422, 'no data stored yet: there is nothing to dump', 'MM_ERR_NO_DATA');
  if (req.max_t < min || req.min_t > max) {
    throw new ApiError(422, `no data between ${iso(req.min_t)} and ${iso(req.max_t)}: stored data covers ${iso(min)} to ${iso(max)}`, 'MM_ERR_NO_DATA');
  }
}

function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

/** Fastify's own 4xx errors, reworded to say what was wrong with the request. */
function describeClientError(err: FastifyError, bodyLimit: number): string {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return `request body is larger than ${bodyLimit} bytes`;
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported Content-Type: send application/json';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'request body is empty but Content-Type is application/json';
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'Content-Length does not match the body';
    default:
      if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return `request body is not valid JSON: ${err.message}`;
      return err.message;
  }
}
