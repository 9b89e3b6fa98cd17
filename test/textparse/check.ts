/**
 * Assertions shared by the table tests (our parser via `simulateScrape`) and the
 * oracle tests (a real Prometheus 2.42): both are held to the same `Case.expect`,
 * and in the differential fuzz our simulation is held to Prometheus directly.
 */
import { expect } from 'vitest';
import { goFloatToInt64 } from '../../src/textparse/index.js';
import { OM, type Case, type ExpectedSample } from './cases.js';
import type { OracleResult } from './oracle.js';
import { labelKey, promValue, type SimResult } from './simulate.js';

/** The 'T' timestamp of a case: now in ms, or for OpenMetrics what `@S@` converts to. */
export function caseT(c: Case, nowMs: number): number {
  if (c.ct === OM) return goFloatToInt64(Number((nowMs / 1000).toFixed(3)) * 1000);
  return nowMs;
}

/** Explicit timestamps Prometheus keeps in our runs (old/far-future ones are dropped as out of bounds). */
export function inWindow(t: number | null, nowMs: number): boolean {
  return t === null || (t >= nowMs - 3600_000 && t <= nowMs + 9 * 60_000);
}

type Row = [string, number, number | null];

function fmtRows(rows: Row[]): string[] {
  return rows.map(([k, v, t]) => `${k} ${Object.is(v, -0) ? '-0' : String(v)}${t === null ? '' : ' @' + t}`).sort();
}

function expectedRows(samples: ExpectedSample[], t: number): Row[] {
  return samples.map(([l, v, ts]) => [labelKey(l), v, ts === 'T' ? t : null]);
}

/** `layer` of a Prometheus lastError: which component refused the scrape. */
export function errorLayer(lastError: string): 'parser' | 'scrape' {
  return /invalid metric name|is not unique|missing metric name/.test(lastError) ? 'scrape' : 'parser';
}

export function assertSimMatchesCase(sim: SimResult, c: Case, nowMs: number): void {
  const e = c.expect;
  expect({ ok: sim.ok, error: sim.error }, `${c.id}: accepted?`).toMatchObject({ ok: e.ok });
  if (!e.ok) {
    expect(sim.layer, `${c.id}: rejecting layer (${sim.error})`).toBe(e.layer);
    return;
  }
  const got: Row[] = sim.samples.filter((s) => inWindow(s.t, nowMs)).map((s) => [labelKey(s.labels), s.value, s.t]);
  expect(fmtRows(got), `${c.id}: samples`).toEqual(fmtRows(expectedRows(e.samples, caseT(c, nowMs))));
  if (e.metadata) expect(sim.metadata, `${c.id}: metadata`).toEqual(e.metadata);
  if (e.exemplars) {
    const t = caseT(c, nowMs);
    const want = e.exemplars.map(([s, l, v, ts]) => `${labelKey(s)} ${labelKey(l)} ${v} ${ts === 'T' ? t : '-'}`);
    const gotEx = sim.exemplars.map((x) => `${labelKey(x.seriesLabels)} ${labelKey(x.labels)} ${x.value} ${x.t === null ? '-' : x.t}`);
    expect(gotEx, `${c.id}: exemplars`).toEqual(want);
  }
}

export function assertOracleMatchesCase(r: OracleResult, c: Case, nowMs: number): void {
  const e = c.expect;
  expect({ health: r.health, lastError: r.lastError }, `${c.id}: Prometheus accepted?`).toMatchObject({ health: e.ok ? 'up' : 'down' });
  if (!e.ok) {
    expect(errorLayer(r.lastError), `${c.id}: rejecting layer (${r.lastError})`).toBe(e.layer);
    return;
  }
  const t = caseT(c, nowMs);
  const explicit = new Set(e.samples.filter((s) => s[2] === 'T').map((s) => labelKey(s[0])));
  const got: Row[] = r.samples.map((s) => {
    const k = labelKey(s.labels);
    return [k, promValue(s.value), explicit.has(k) ? s.t : null];
  });
  expect(fmtRows(got), `${c.id}: samples`).toEqual(fmtRows(expectedRows(e.samples, t)));
  if (e.metadata) expect(r.metadata, `${c.id}: metadata`).toEqual(e.metadata);
  if (e.exemplars) {
    const want = e.exemplars.map(([s, l, v, ts]) => `${labelKey(s)} ${labelKey(l)} ${v}${ts === 'T' ? ' ' + t : ''}`).sort();
    const explicitEx = new Set(e.exemplars.filter((x) => x[3] === 'T').map((x) => labelKey(x[0])));
    const gotEx = [
      ...new Set(
        r.exemplars.map((x) => `${labelKey(x.seriesLabels)} ${labelKey(x.labels)} ${promValue(x.value)}${explicitEx.has(labelKey(x.seriesLabels)) ? ' ' + x.t : ''}`),
      ),
    ].sort();
    expect(gotEx, `${c.id}: exemplars`).toEqual(want);
  }
}

/** Differential check for generated bodies: our simulated scrape vs a real Prometheus. */
export function assertSimMatchesOracle(sim: SimResult, r: OracleResult, nowMs: number, label: string): void {
  expect({ ok: sim.ok, simError: sim.error, promError: r.lastError }, `${label}: accepted?`).toMatchObject({ ok: r.health === 'up' });
  if (!sim.ok) {
    expect(sim.layer, `${label}: rejecting layer (ours: ${sim.error}; Prometheus: ${r.lastError})`).toBe(errorLayer(r.lastError));
    return;
  }
  const mixed = new Set(sim.samples.filter((s) => s.mixed).map((s) => labelKey(s.labels)));
  const explicit = new Set(sim.samples.filter((s) => s.t !== null).map((s) => labelKey(s.labels)));
  const want: Row[] = sim.samples
    .filter((s) => inWindow(s.t, nowMs))
    .map((s) => [labelKey(s.labels), mixed.has(labelKey(s.labels)) ? 0 : s.value, s.t]);
  const got: Row[] = r.samples
    .filter((s) => !explicit.has(labelKey(s.labels)) || inWindow(s.t, nowMs))
    .map((s) => {
      const k = labelKey(s.labels);
      return [k, mixed.has(k) ? 0 : promValue(s.value), explicit.has(k) && !mixed.has(k) ? s.t : null];
    });
  const wantRows = want.map(([k, v, t]): Row => [k, v, mixed.has(k) ? null : t]);
  expect(fmtRows(got), `${label}: samples`).toEqual(fmtRows(wantRows));
  expect(r.metadata, `${label}: metadata`).toEqual(sim.metadata);
}
