/**
 * A real API stack for tests: file JobStore + JobRunner + TarDumpBuilder (real tar.gz)
 * + local artifacts, served by buildServer on 127.0.0.1:0, with a pino logger writing
 * into memory so tests can check what was logged.
 */
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { AuthConfig, TargetStatus, TsdbStats } from '../../../src/api/deps.js';
import { buildServer, type ApiServer } from '../../../src/api/server.js';
import { openFileJobStore, type FileJobStore } from '../../../src/jobs/file-store.js';
import { LocalDumpArtifacts } from '../../../src/jobs/local-artifacts.js';
import { JobRunner } from '../../../src/jobs/runner.js';
import { tempDir } from '../../jobs/support/jobs.js';
import { TarDumpBuilder, type TarBuilderOptions } from '../../jobs/support/tar-builder.js';

export const HOUR = 3_600_000;
/** Data covers [T0, T0 + 24 h) in blocks, and the head reaches 2 h further. */
export const T0 = Date.UTC(2025, 0, 1);

export interface Harness {
  url: string;
  app: ApiServer;
  dir: string;
  store: FileJobStore;
  runner: JobRunner;
  builder: TarDumpBuilder;
  artifacts: LocalDumpArtifacts;
  stats: { value: TsdbStats };
  targets: TargetStatus[];
  ready: { value: boolean };
  logs: () => string;
  close: () => Promise<void>;
}

export function sampleTargets(): TargetStatus[] {
  return [
    { scrape_url: 'http://10.0.0.5:8067/metrics', job: 'prometheus', instance: '10.0.0.5:8067', labels: { job: 'prometheus', instance: '10.0.0.5:8067' }, health: 'up', last_scrape: T0 + 25 * HOUR, last_scrape_duration: 0.042, last_samples: 1234, last_error: '', interval: 60, timeout: 10 },
    { scrape_url: 'http://10.0.0.5:9100/metrics', job: 'node', instance: '10.0.0.5:9100', labels: { job: 'node', instance: '10.0.0.5:9100' }, health: 'down', last_scrape: T0 + 25 * HOUR, last_scrape_duration: 10, last_samples: 0, last_error: 'Get "http://10.0.0.5:9100/metrics": context deadline exceeded', interval: 60, timeout: 10 },
  ];
}

export async function startHarness(opts: { auth?: AuthConfig; builder?: Partial<TarBuilderOptions>; bodyLimit?: number; now?: () => number } = {}): Promise<Harness> {
  const tmp = await tempDir('mm-api-');
  const dir = tmp.dir;
  await mkdir(path.join(dir, 'jobs'));
  const store = await openFileJobStore(path.join(dir, 'jobs'));
  const builder = new TarDumpBuilder(dir, opts.builder);
  const artifacts = new LocalDumpArtifacts(dir);
  const runner = new JobRunner({ store, builder, deleteArtifacts: artifacts.deleteArtifacts, nodeId: 'test-node', options: { pollMs: 20, progressWriteMs: 0 } });
  await runner.start();
  const stats = { value: { min_t: T0, max_t: T0 + 24 * HOUR, num_samples: 1_000_000, num_series: 5000, num_blocks: 12, head: { min_t: T0 + 24 * HOUR, max_t: T0 + 26 * HOUR, num_series: 5100, num_samples: 90_000, num_chunks: 5100 } } as TsdbStats };
  const targets = sampleTargets();
  const ready = { value: true };
  let logText = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logText += chunk.toString();
      cb();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const app = await buildServer({
    jobStore: store,
    jobs: runner,
    stats: { stats: async () => structuredClone(stats.value) },
    targets: { targets: () => targets },
    artifacts,
    metrics: { render: () => '# HELP mm_metrics_up Always 1.\n# TYPE mm_metrics_up gauge\nmm_metrics_up 1\n' },
    ready: () => ready.value,
    auth: opts.auth ?? { mode: 'static', token: 'test-token-0123456789abcdef' },
    logger,
    bodyLimit: opts.bodyLimit,
    now: opts.now,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    app, dir, store, runner, builder, artifacts, stats, targets, ready,
    logs: () => logText,
    close: async () => {
      await app.close();
      await runner.stop();
      await store.close();
      await tmp.cleanup();
    },
  };
}

/** A stand-in for Mattermost's /api/v4/users/me on 127.0.0.1:0, counting calls. */
export interface FakeMattermost {
  url: string;
  calls: number;
  users: Map<string, { status: number; body?: unknown }>;
  down: boolean;
  close: () => Promise<void>;
}

export async function startMattermost(): Promise<FakeMattermost> {
  const mm: FakeMattermost = { url: '', calls: 0, users: new Map(), down: false, close: async () => undefined };
  const server = http.createServer((req, res) => {
    if (req.url !== '/api/v4/users/me') {
      res.writeHead(404).end();
      return;
    }
    mm.calls++;
    if (mm.down) {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"maintenance"}');
      return;
    }
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    const u = m ? mm.users.get(m[1]!) : undefined;
    if (!u) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"id":"api.context.session_expired.app_error","status_code":401}');
      return;
    }
    res.writeHead(u.status, { 'content-type': 'application/json' }).end(JSON.stringify(u.body ?? {}));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  mm.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  mm.close = () => new Promise((r) => server.close(() => r()));
  return mm;
}

export function mmUser(over: Record<string, unknown> = {}): { status: number; body: unknown } {
  return { status: 200, body: { id: 'u1234567890abcdefghijklmno', username: 'alice', roles: 'system_user system_admin', delete_at: 0, ...over } };
}
