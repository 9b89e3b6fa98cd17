import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { openDb } from '../../src/cluster/db.js';
import { CDS_OFFLINE_AFTER_MS, ClusterDiscovery, DiscoveryError } from '../../src/cluster/discovery.js';
import type { ClusterLogger } from '../../src/cluster/redact.js';
import { buildTargets, checkHostname, defaultTargetOptions, staticNode, type ClusterNode } from '../../src/cluster/targets.js';
import { createClusterDiscoveryTable, createTestDatabase, DRIVERS, newId, upsertNode, waitFor, type TestDatabase } from './helpers.js';

const POLL_MS = 250;

function captureLogger(): ClusterLogger & { lines: Array<{ level: string; msg: string; obj: Record<string, unknown> }> } {
  const lines: Array<{ level: string; msg: string; obj: Record<string, unknown> }> = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => lines.push({ level, msg, obj });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe.each(DRIVERS)('ClusterDiscovery on %s', (_name, c) => {
  let t: TestDatabase;
  const started: ClusterDiscovery[] = [];
  beforeAll(async () => {
    t = await createTestDatabase(c);
    await createClusterDiscoveryTable(t.db);
  });
  afterEach(async () => {
    for (const d of started.splice(0)) await d.stop();
    await t.db.exec('DELETE FROM ClusterDiscovery');
  });
  afterAll(async () => {
    await t?.drop();
  });

  function discovery(opts: Partial<ConstructorParameters<typeof ClusterDiscovery>[1]> = {}, db = t.db): ClusterDiscovery {
    const d = new ClusterDiscovery(db, { clusterName: 'prod', pollIntervalMs: POLL_MS, minRetryMs: 50, ...opts });
    started.push(d);
    return d;
  }

  test('only live app rows of this cluster are nodes, and duplicate hostnames collapse into the freshest', async () => {
    const now = Date.now();
    const fresh = newId();
    await upsertNode(t.db, { id: newId(), hostname: '10.0.0.2', clusterName: 'prod', lastPingAt: now - 1000 });
    await upsertNode(t.db, { id: fresh, hostname: '10.0.0.1', clusterName: 'prod', lastPingAt: now - 500 });
    await upsertNode(t.db, { id: newId(), hostname: '10.0.0.1', clusterName: 'prod', lastPingAt: now - 50_000 });
    await upsertNode(t.db, { id: newId(), hostname: '10.0.0.3', clusterName: 'other', lastPingAt: now });
    await upsertNode(t.db, { id: newId(), hostname: '10.0.0.4', clusterName: 'prod', lastPingAt: now, type: 'something_else' });
    await upsertNode(t.db, { id: newId(), hostname: '10.0.0.5', clusterName: 'prod', lastPingAt: now - CDS_OFFLINE_AFTER_MS - 1 });
    const nodes = await discovery().pollOnce();
    expect(nodes.map((n) => n.hostname)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(nodes[0]).toMatchObject({ id: fresh, clusterName: 'prod', gossipPort: 8074, port: 8065, lastPingAt: now - 500 });
  });

  test('a node that joins, goes stale, or is deleted shows up in the change events within one poll', async () => {
    const d = discovery();
    const events: Array<{ at: number; hosts: string[] }> = [];
    d.onChange((nodes) => events.push({ at: Date.now(), hosts: nodes.map((n) => n.hostname) }));
    const a = newId();
    await upsertNode(t.db, { id: a, hostname: 'app-1.mm.internal', clusterName: 'prod', lastPingAt: Date.now() });
    d.start();
    expect(await waitFor(() => events.length === 1, 2000)).toBe(true);
    expect(events[0]!.hosts).toEqual(['app-1.mm.internal']);

    const steps: Array<[string, () => Promise<unknown>, string[]]> = [
      ['join', () => upsertNode(t.db, { id: newId(), hostname: 'app-2.mm.internal', clusterName: 'prod', lastPingAt: Date.now() }), ['app-1.mm.internal', 'app-2.mm.internal']],
      ['age out', () => t.db.exec('UPDATE ClusterDiscovery SET LastPingAt = ? WHERE Id = ?', [Date.now() - CDS_OFFLINE_AFTER_MS - 1000, a]), ['app-2.mm.internal']],
      ['delete', () => t.db.exec('DELETE FROM ClusterDiscovery'), []],
    ];
    for (const [name, act, want] of steps) {
      const before = events.length;
      const t0 = Date.now();
      await act();
      const ok = await waitFor(() => events.length > before, POLL_MS * 2 + 500);
      expect(ok, `change after ${name}`).toBe(true);
      expect(events.at(-1)!.hosts).toEqual(want);
      // One poll interval plus scheduling slack on a shared 2-core machine.
      expect(events.at(-1)!.at - t0).toBeLessThan(POLL_MS + 400);
    }
    // A ping that only refreshes LastPingAt is not a change.
    const n = events.length;
    await upsertNode(t.db, { id: newId(), hostname: 'app-3', clusterName: 'prod', lastPingAt: Date.now() });
    expect(await waitFor(() => events.length > n, 2000)).toBe(true);
    const m = events.length;
    await t.db.exec('UPDATE ClusterDiscovery SET LastPingAt = ?', [Date.now()]);
    await new Promise((r) => setTimeout(r, POLL_MS * 3));
    expect(events.length).toBe(m);
  });

  test('rows with garbage hostnames are skipped with one warning each and never crash the poll', async () => {
    const log = captureLogger();
    const now = Date.now();
    const garbage = ['', '   ', 'bad host', 'http://evil.example/', 'user@host', '10.0.0.1:8065', '-bad-.example.com', 'a'.repeat(300), 'x;rm -rf /', 'höst.example', '999.1.1.1', 'tab\there'];
    for (const h of garbage) await upsertNode(t.db, { id: newId(), hostname: h, clusterName: 'prod', lastPingAt: now });
    await upsertNode(t.db, { id: newId(), hostname: 'good.example.com', clusterName: 'prod', lastPingAt: now });
    await upsertNode(t.db, { id: newId(), hostname: 'fd00::10', clusterName: 'prod', lastPingAt: now });
    const d = discovery({ logger: log });
    const nodes = await d.pollOnce();
    expect(nodes.map((n) => n.hostname)).toEqual(['fd00::10', 'good.example.com']);
    const warns = () => log.lines.filter((l) => l.level === 'warn' && l.msg.includes('unusable hostname'));
    expect(warns().length).toBe(garbage.length);
    await d.pollOnce();
    expect(warns().length).toBe(garbage.length);
  });

  test('a missing table is a clear error, the last known list is kept, and polling recovers with backoff', async () => {
    const other = await createTestDatabase(c);
    try {
      const d = discovery({ pollIntervalMs: 2000, minRetryMs: 100 }, other.db);
      const errors: Array<{ at: number; err: DiscoveryError }> = [];
      const changes: ClusterNode[][] = [];
      let recovered = 0;
      d.onError((err) => errors.push({ at: Date.now(), err }));
      d.onChange((nodes) => changes.push(nodes));
      d.onRecover(() => recovered++);
      d.start();
      expect(await waitFor(() => errors.length >= 4, 3000)).toBe(true);
      const e = errors[0]!.err;
      expect(e).toBeInstanceOf(DiscoveryError);
      expect(e.kind).toBe('missing_table');
      expect(e.code).toBe('MM_ERR_DISCOVERY_NO_TABLE');
      expect(e.message).toContain('ClusterDiscovery');
      expect(e.message).toContain(other.name);
      // Backoff: 100, 200, 400 ms … each gap is at least its delay (plus the failed query's own
      // time, which on a loaded machine can be as long as the delay, so only lower bounds hold),
      // and the third is clearly longer than the first.
      const gaps = errors.slice(1, 4).map((x, i) => x.at - errors[i]!.at);
      expect(gaps[0]!).toBeGreaterThanOrEqual(95);
      expect(gaps[1]!).toBeGreaterThanOrEqual(195);
      expect(gaps[2]!).toBeGreaterThanOrEqual(395);
      expect(gaps[2]!).toBeGreaterThan(gaps[0]! * 1.5);
      expect(d.nodes()).toEqual([]);
      expect(changes).toEqual([]);

      await createClusterDiscoveryTable(other.db);
      await upsertNode(other.db, { id: newId(), hostname: '10.9.9.9', clusterName: 'prod', lastPingAt: Date.now() });
      expect(await waitFor(() => changes.length === 1, 3000)).toBe(true);
      expect(recovered).toBe(1);
      expect(d.lastError).toBeNull();
      expect(changes[0]!.map((n) => n.hostname)).toEqual(['10.9.9.9']);

      // Lose the table again: errors, but the list stays and no change is emitted.
      await other.db.exec(c.driver === 'postgres' ? 'ALTER TABLE clusterdiscovery RENAME TO cd_gone' : 'RENAME TABLE ClusterDiscovery TO cd_gone');
      const n = errors.length;
      await expect(d.pollOnce()).rejects.toBeInstanceOf(DiscoveryError);
      expect(errors.length).toBe(n + 1);
      expect(d.nodes().map((x) => x.hostname)).toEqual(['10.9.9.9']);
      expect(changes.length).toBe(1);
      await d.stop();
    } finally {
      await other.drop();
    }
  });

  test('an unreachable database is a connection error and never leaks the password into errors or logs', async () => {
    const log = captureLogger();
    const pw = 'Very$ecret:Pass@word';
    const dsn = c.driver === 'postgres' ? `postgres://postgres:${encodeURIComponent(pw)}@127.0.0.1:1/x?sslmode=disable&connect_timeout=2` : `root:${pw}@tcp(127.0.0.1:1)/x?timeout=2s`;
    const db = openDb(c.driver, dsn, { logger: log });
    try {
      const d = new ClusterDiscovery(db, { clusterName: 'prod', pollIntervalMs: 1000, minRetryMs: 100 });
      const errors: DiscoveryError[] = [];
      d.onError((e) => errors.push(e));
      d.start();
      expect(await waitFor(() => errors.length >= 2, 5000)).toBe(true);
      await d.stop();
      expect(errors[0]!.kind).toBe('connection');
      expect(errors[0]!.message).toContain('127.0.0.1:1');
      const all = JSON.stringify(log.lines) + errors.map((e) => e.message + e.stack).join('\n');
      expect(log.lines.some((l) => l.level === 'warn')).toBe(true);
      expect(all).not.toContain(pw);
      expect(all).not.toContain(encodeURIComponent(pw));
    } finally {
      await db.close();
    }
  });
});

describe('targets', () => {
  const node = (id: string, hostname: string): ClusterNode => ({ id, hostname, clusterName: 'c', gossipPort: 8074, port: 8065, createAt: 1, lastPingAt: 2 });

  test('each node gets a prometheus, a node_exporter and (when Calls runs) a calls target with instance = address', () => {
    const opts = defaultTargetOptions();
    opts.calls.enabled = true;
    const got = buildTargets([node('a', '10.0.0.1'), node('b', 'fd00::2')], opts);
    expect(got.map((x) => [x.job, x.address, x.metricsPath, x.labels.instance])).toEqual([
      ['prometheus', '10.0.0.1:8067', '/metrics', '10.0.0.1:8067'],
      ['node', '10.0.0.1:9100', '/metrics', '10.0.0.1:9100'],
      ['calls', '10.0.0.1:8067', '/plugins/com.mattermost.calls/metrics', '10.0.0.1:8067'],
      ['prometheus', '[fd00::2]:8067', '/metrics', '[fd00::2]:8067'],
      ['node', '[fd00::2]:9100', '/metrics', '[fd00::2]:9100'],
      ['calls', '[fd00::2]:8067', '/plugins/com.mattermost.calls/metrics', '[fd00::2]:8067'],
    ]);
    expect(got.every((x) => x.labels.job === x.job && x.scheme === 'http')).toBe(true);
    expect(got[0]!.nodeId).toBe('a');
  });

  test('node_exporter can be turned off and its port changed; a static node covers the single-server case', () => {
    expect(buildTargets([staticNode('localhost')], { ...defaultTargetOptions(), metricsPort: 9999, nodeExporter: { enabled: false, port: 1 } }).map((x) => x.address)).toEqual([
      'localhost:9999',
    ]);
    expect(() => staticNode('http://x')).toThrow(/static node hostname/);
  });

  test.each<[string, string, string | null]>([
    ['an IPv4 address is accepted', '10.1.2.3', '10.1.2.3'],
    ['a bracketed IPv6 address loses its brackets', '[fd00::1]', 'fd00::1'],
    ['a DNS name with a trailing dot loses the dot', 'app-1.example.com.', 'app-1.example.com'],
    ['surrounding spaces are trimmed', '  app1  ', 'app1'],
    ['an underscore in a container name is tolerated', 'mm_app_1', 'mm_app_1'],
    ['a host with a port is rejected', 'app:8065', null],
    ['a label longer than 63 characters is rejected', `${'a'.repeat(64)}.com`, null],
    ['an empty label is rejected', 'a..b', null],
    ['a label starting with a hyphen is rejected', '-a.b', null],
    ['an out-of-range IPv4 address is rejected', '256.1.1.1', null],
  ])('hostname check: %s', (_name, input, want) => {
    const r = checkHostname(input);
    expect(r.ok ? r.host : null).toBe(want);
  });
});
