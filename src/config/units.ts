/**
 * Durations and byte sizes as people write them in config files and environment variables.
 *
 * Durations follow Prometheus's model.ParseDuration: one or more <integer><unit> terms in
 * decreasing unit order, units y w d h m s ms ("1h30m", "15d", "500ms"); "0" is zero. A bare
 * number (YAML `interval: 60`, or "60" from the environment) means seconds, fractions allowed,
 * because the Mattermost plugin's settings are all "…Seconds"/"…Minutes"/"…Days" numbers.
 *
 * Sizes are an integer number of bytes or <number><unit> with B, KiB, MiB, GiB, TiB. The
 * decimal units (KB, MB, GB) are refused on purpose: Prometheus's body_size_limit reads "MB"
 * as 2^20 while most people read 10^6; asking for "MiB" removes the doubt.
 */

const UNIT_MS: Record<string, number> = {
  y: 365 * 24 * 3600_000,
  w: 7 * 24 * 3600_000,
  d: 24 * 3600_000,
  h: 3600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
};
const UNIT_ORDER = ['y', 'w', 'd', 'h', 'm', 's', 'ms'];

/** Human description used in error messages. */
export const DURATION_HINT = 'a duration like "60s", "5m", "15d" (units ms, s, m, h, d, w, y) or a number of seconds';

/** Parses a duration to milliseconds; returns null when it is not one. Negative values are not durations. */
export function parseDuration(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v * 1000) : null;
  if (typeof v !== 'string') return null;
  const s = v.trim();
  if (s === '') return null;
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const re = /(\d+)(ms|y|w|d|h|m|s)/y;
  let total = 0;
  let lastUnit = -1;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (m === null) return null;
    const ui = UNIT_ORDER.indexOf(m[2]!);
    if (ui <= lastUnit) return null; // units must be in decreasing order, each at most once ("1m1h" is a typo)
    lastUnit = ui;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = re.lastIndex;
  }
  return Number.isSafeInteger(total) ? total : null;
}

/** Formats milliseconds the way Prometheus prints durations ("1h30m", "15d", "0s"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let left = ms;
  let out = '';
  for (const u of UNIT_ORDER) {
    const size = UNIT_MS[u]!;
    if (left >= size) {
      const n = Math.floor(left / size);
      out += `${n}${u}`;
      left -= n * size;
    }
  }
  return out;
}

const SIZE_UNITS: Record<string, number> = { b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

export const SIZE_HINT = 'a size like "1GiB", "512MiB" (units B, KiB, MiB, GiB, TiB) or a number of bytes';

/** Parses a byte size; null when it is not one (including "MB"-style decimal units, see file comment). */
export function parseBytes(v: unknown): number | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : null;
  if (typeof v !== 'string') return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(v);
  if (m === null) return null;
  const unit = m[2]!.toLowerCase();
  const mult = unit === '' ? 1 : SIZE_UNITS[unit];
  if (mult === undefined) return null;
  const n = Number(m[1]) * mult;
  return Number.isSafeInteger(n) ? n : Number.isFinite(n) && n < Number.MAX_SAFE_INTEGER ? Math.floor(n) : null;
}

/** Formats bytes with the largest binary unit that divides evenly ("1GiB", "1500B"). */
export function formatBytes(n: number): string {
  for (const [u, size] of [['TiB', 1024 ** 4], ['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (n >= size && n % size === 0) return `${n / size}${u}`;
  }
  return `${n}B`;
}
