/**
 * Prometheus's TSDB admin endpoints (web/api/v1 `deleteSeries`, `cleanTombstones`),
 * admin-only like every other route of this service:
 *
 *   POST …/api/v1/admin/tsdb/delete_series?match[]=<selector>&start=<time>&end=<time>
 *        204 on success; 400 {"error"} for no/bad match[], bad start/end, end < start
 *   POST …/api/v1/admin/tsdb/clean_tombstones     204
 *
 * Parameters come from the query string and/or an `application/x-www-form-urlencoded`
 * body, as Go's `r.ParseForm` reads them. Times are unix seconds (fractions allowed,
 * rounded to ms) or RFC 3339 (`2023-01-02T03:04:05.123Z`), Prometheus's `parseTime`;
 * absent start/end mean Prometheus's min/max time. Unlike Prometheus, every selector
 * is parsed before anything is deleted (a bad second selector deletes nothing), and
 * end < start is refused instead of deleting nothing silently.
 *
 * These act on the TSDB of the node that answers (in the HA setup, each node's local
 * DB: a delete must be sent to every node that holds the data).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Matcher } from '../storage/index.js';
import { ApiError, badRequest } from './errors.js';
import { parseSelector, SelectorError } from './selector.js';

/** What the admin routes need from the TSDB (src/tsdb DB.delete / DB.cleanTombstones). */
export interface TsdbAdmin {
  /** Deletes [mint, maxt] (ms, inclusive) of the series matching all matchers. */
  deleteSeries(mint: number, maxt: number, matchers: Matcher[]): Promise<unknown>;
  /** Rewrites blocks with tombstones without the deleted data. */
  cleanTombstones(): Promise<unknown>;
}

/** Prometheus API min/max time (web/api/v1 minTime/maxTime) in ms, approximate beyond 2^53. */
export const PROM_MIN_TIME_MS = -(Math.trunc(2 ** 63 / 1000) - 62135596801) * 1000;
export const PROM_MAX_TIME_MS = (Math.trunc(2 ** 63 / 1000) - 62135596801) * 1000 + 999;
/** How Prometheus prints those bounds (accepted back as input, as Prometheus does). */
const MIN_TIME_FORMATTED = '-292273086-05-16T16:47:06Z';
const MAX_TIME_FORMATTED = '292277025-08-18T07:12:54.999999999Z';

const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))$/;

/**
 * Prometheus `parseTime`: unix seconds as a float (fraction rounded to ms) or RFC 3339
 * with optional fractional seconds (truncated to ms, as `timestamp.FromTime`). Returns
 * ms, or throws a 400 naming the parameter.
 */
export function parsePromTime(s: string, param: string): number {
  if (FLOAT.test(s)) {
    const v = Number(s);
    if (Number.isFinite(v)) {
      const sec = Math.trunc(v);
      const ms = sec * 1000 + Math.round((v - sec) * 1000);
      if (Math.abs(ms) <= PROM_MAX_TIME_MS) return ms;
    }
  }
  const m = RFC3339.exec(s);
  if (m) {
    const [y, mo, d, h, mi, se] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
    let ms = Date.UTC(y!, mo! - 1, d!, h!, mi!, se!);
    if (y! < 100) ms = new Date(ms).setUTCFullYear(y!);
    const check = new Date(ms);
    const valid = check.getUTCFullYear() === y && check.getUTCMonth() === mo! - 1 && check.getUTCDate() === d && h! < 24 && mi! < 60 && se! < 60;
    const offValid = m[8] === 'Z' || m[8] === 'z' || (Number(m[10]) < 24 && Number(m[11]) < 60);
    if (valid && offValid) {
      if (m[7] !== undefined) ms += Math.trunc(Number(m[7]) * 1000);
      if (m[9] !== undefined) ms -= (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11])) * 60_000;
      return ms;
    }
  }
  if (s === MIN_TIME_FORMATTED) return PROM_MIN_TIME_MS;
  if (s === MAX_TIME_FORMATTED) return PROM_MAX_TIME_MS;
  throw new ApiError(400, `invalid parameter ${JSON.stringify(param)}: cannot parse ${JSON.stringify(s)} to a valid timestamp`, 'MM_ERR_BAD_REQUEST');
}

/** Values of `name` from the form body and the query string (Go `r.Form`: body first). */
function formValues(req: FastifyRequest, name: string): string[] {
  const out: string[] = [];
  const add = (v: unknown) => {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) for (const x of v) if (typeof x === 'string') out.push(x);
  };
  const body = req.body;
  if (body instanceof URLSearchParams) out.push(...body.getAll(name));
  add((req.query as Record<string, unknown> | undefined)?.[name]);
  return out;
}

/** Parsed delete_series parameters; throws 400 ApiErrors with Prometheus's wording. */
export function parseDeleteSeries(req: FastifyRequest): { mint: number; maxt: number; selectors: Matcher[][] } {
  const matches = formValues(req, 'match[]');
  if (matches.length === 0) throw badRequest('no match[] parameter provided');
  const start = formValues(req, 'start')[0];
  const end = formValues(req, 'end')[0];
  const mint = start === undefined || start === '' ? PROM_MIN_TIME_MS : parsePromTime(start, 'start');
  const maxt = end === undefined || end === '' ? PROM_MAX_TIME_MS : parsePromTime(end, 'end');
  if (maxt < mint) throw badRequest(`invalid parameter "end": end ${end} is before start ${start}`);
  const selectors = matches.map((s) => {
    try {
      return parseSelector(s);
    } catch (e) {
      if (e instanceof SelectorError) throw badRequest(`invalid parameter "match[]": ${JSON.stringify(s)}: ${e.message}`);
      throw e;
    }
  });
  return { mint, maxt, selectors };
}

/**
 * Registers the two routes on `api` (which carries the admin auth hook). `admin` null:
 * this node has no local TSDB; the routes answer 503.
 */
export async function registerTsdbAdminRoutes(api: FastifyInstance, admin: TsdbAdmin | null): Promise<void> {
  api.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, new URLSearchParams(body as string));
  });
  const need = (): TsdbAdmin => {
    if (admin === null) throw new ApiError(503, 'this node has no local TSDB to administer', 'MM_ERR_NO_TSDB');
    return admin;
  };
  api.post('/api/v1/admin/tsdb/delete_series', async (req, reply) => {
    const { mint, maxt, selectors } = parseDeleteSeries(req);
    const a = need();
    try {
      for (const ms of selectors) await a.deleteSeries(mint, maxt, ms);
    } catch (e) {
      // The TSDB's own argument checks (DeleteError, code MM_ERR_DELETE_*) are client errors.
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string' && code.startsWith('MM_ERR_DELETE_')) throw badRequest((e as Error).message);
      throw e;
    }
    req.log.info({ selectors: selectors.length, mint, maxt }, 'tsdb series deleted');
    return reply.code(204).send();
  });
  api.post('/api/v1/admin/tsdb/clean_tombstones', async (req, reply) => {
    await need().cleanTombstones();
    req.log.info({}, 'tsdb tombstones cleaned');
    return reply.code(204).send();
  });
}
