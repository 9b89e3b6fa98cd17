/**
 * Request validation: dump requests (create/estimate bodies) and job ids.
 *
 * Everything is checked before anything is created: types (JSON numbers only, no
 * numeric strings), integer ms timestamps in [0, 8.64e15] (the JS Date range),
 * min_t < max_t, unknown fields (a typo such as `"max"` must not silently become "all
 * time"), list sizes, series groups by name and selectors by parsing them. Messages
 * say which field and what was wrong: `max_t: must be greater than min_t (…)`.
 */
import { z } from 'zod';
import { SERIES_GROUP_NAMES } from '../jobs/groups.js';
import { isValidId } from '../jobs/id.js';
import type { DumpRequest } from '../jobs/types.js';
import { badRequest, notFound } from './errors.js';
import { parseSelector, MAX_SELECTOR_LENGTH } from './selector.js';

/** Largest ms timestamp JS dates can represent (year 275760). */
export const MAX_TIME_MS = 8.64e15;
export const MAX_INSTANCES = 200;
export const MAX_MATCHERS = 20;

const timeMs = (name: string) =>
  z
    .number({ error: (iss) => `${name}: expected a number (ms since epoch), got ${describeInput(iss.input)}` })
    .min(0, { error: `${name}: must not be negative` })
    .max(MAX_TIME_MS, { error: `${name}: must be at most ${MAX_TIME_MS}` })
    .int({ error: `${name}: must be a whole number of milliseconds` });

const dumpRequestSchema = z.strictObject(
  {
    min_t: timeMs('min_t'),
    max_t: timeMs('max_t'),
    instances: z
      .array(z.string().min(1, { error: 'must not be empty' }).max(512).regex(/^[^\s]+$/, { error: 'must not contain spaces' }), { error: 'expected an array of strings' })
      .max(MAX_INSTANCES, { error: `at most ${MAX_INSTANCES} instances` })
      .optional(),
    matchers: z
      .array(z.string().max(MAX_SELECTOR_LENGTH), { error: 'expected an array of selector strings' })
      .max(MAX_MATCHERS, { error: `at most ${MAX_MATCHERS} selectors` })
      .optional(),
    groups: z
      .array(z.enum(SERIES_GROUP_NAMES as [string, ...string[]], { error: (iss) => `unknown group ${describeInput(iss.input)}; known: ${SERIES_GROUP_NAMES.join(', ')}` }), {
        error: 'expected an array of group names',
      })
      .optional(),
  },
  { error: (iss) => (iss.code === 'unrecognized_keys' ? undefined : `expected a JSON object, got ${describeInput(iss.input)}`) },
);

function describeInput(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  if (typeof v === 'number') return `number ${v}`;
  if (v === undefined) return 'nothing';
  return typeof v;
}

/** Validates a create/estimate body; throws 400 ApiError naming the field. */
export function parseDumpRequest(body: unknown): DumpRequest {
  if (body === undefined || body === null || body === '') throw badRequest('request body: expected a JSON object {"min_t":…,"max_t":…}');
  const r = dumpRequestSchema.safeParse(body);
  if (!r.success) {
    const iss = r.error.issues[0]!;
    const where = iss.path.length ? iss.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[') : '';
    let msg = iss.message;
    if (iss.code === 'unrecognized_keys') msg = `unknown field${iss.keys.length > 1 ? 's' : ''} ${iss.keys.map((k) => JSON.stringify(k)).join(', ')} (allowed: min_t, max_t, instances, matchers, groups)`;
    // Field-specific messages already start with the field name.
    throw badRequest(where && !msg.startsWith(where.split(/[.[]/)[0] + ':') ? `${where}: ${msg}` : msg);
  }
  const req = r.data;
  if (req.min_t >= req.max_t) {
    throw badRequest(`max_t: must be greater than min_t (got min_t=${req.min_t}, max_t=${req.max_t})`);
  }
  const out: DumpRequest = { min_t: req.min_t, max_t: req.max_t };
  if (req.instances?.length) out.instances = [...new Set(req.instances)];
  if (req.groups?.length) out.groups = [...new Set(req.groups)];
  if (req.matchers?.length) {
    req.matchers.forEach((m, i) => {
      try {
        parseSelector(m);
      } catch (e) {
        throw badRequest(`matchers[${i}]: ${(e as Error).message}`);
      }
    });
    out.matchers = [...new Set(req.matchers)];
  }
  return out;
}

/** Checks a job id from the path: 400 for anything that is not [a-z0-9]{26}. */
export function parseJobId(raw: unknown): string {
  if (!isValidId(raw)) {
    const shown = typeof raw === 'string' ? JSON.stringify(raw.length > 64 ? raw.slice(0, 64) + '…' : raw) : 'nothing';
    throw badRequest(`job id ${shown} is malformed: want 26 lower-case letters or digits`);
  }
  return raw;
}

export function jobNotFound(id: string): never {
  throw notFound(`job ${id} not found`);
}
