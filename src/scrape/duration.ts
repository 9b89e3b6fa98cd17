/**
 * Prometheus durations (`model.ParseDuration` / `Duration.String` of
 * prometheus/common v0.39): `[0-9]+` followed by a unit, units in decreasing order
 * `y w d h m s ms`, each at most once, or the bare `0`. Values are milliseconds.
 */
import { DurationError } from './errors.js';

const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['y', 365 * 24 * 3600 * 1000],
  ['w', 7 * 24 * 3600 * 1000],
  ['d', 24 * 3600 * 1000],
  ['h', 3600 * 1000],
  ['m', 60 * 1000],
  ['s', 1000],
  ['ms', 1],
];

const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** Parses `1m30s`, `500ms`, `0` … into milliseconds; throws `DurationError`. */
export function parseDuration(s: string): number {
  if (s === '0') return 0;
  if (s === '') throw new DurationError(s);
  const m = DURATION_RE.exec(s);
  if (m === null) throw new DurationError(s);
  let ms = 0;
  for (let i = 0; i < UNITS.length; i++) {
    const g = m[i + 1];
    if (g !== undefined) ms += Number(g) * (UNITS[i] as readonly [string, number])[1];
  }
  if (!Number.isSafeInteger(ms)) throw new DurationError(s);
  return ms;
}

/** Formats milliseconds the way Prometheus prints durations: `1m`, `10s`, `1m30s`, `500ms`, `0s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of UNITS) {
    // Prometheus prints weeks only when the whole value is a multiple of a week (and years likewise).
    if ((unit === 'y' || unit === 'w') && rest % size !== 0) continue;
    if (rest >= size) {
      const n = Math.floor(rest / size);
      out += n + unit;
      rest -= n * size;
    }
  }
  return out;
}

/** Seconds as Go's `strconv.FormatFloat(s, 'f', -1, 64)`: `10`, `0.5`, `1.25`. */
export function formatSeconds(ms: number): string {
  return String(ms / 1000);
}
