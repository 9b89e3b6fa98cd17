/**
 * One dump build in its own process, so its peak RSS (VmHWM) belongs to the build alone.
 * Started by dump.bench.ts with one JSON argument; prints one `RESULT {json}` line.
 *
 *   { storeRoot, workDir, mint, maxt, id }  →  { seconds, cpuSeconds, vmHWM, sampledPeakRss, parts, size, phases }
 *
 * Also samples process.memoryUsage().rss every 100 ms as a cross-check (samples are
 * missed while the main thread is busy, VmHWM never is).
 */
import { readFileSync } from 'node:fs';
import { TsdbDumpBuilder } from '../../src/dump/builder.js';
import { openLocalFileStore } from '../../src/filestore/local.js';
import { JobStatus, type DumpJob } from '../../src/jobs/types.js';

interface Args {
  storeRoot: string;
  workDir: string;
  mint: number;
  maxt: number;
  id: string;
}

function vmHWM(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

const args = JSON.parse(process.argv[2] as string) as Args;
const store = await openLocalFileStore({ root: args.storeRoot });
const builder = new TsdbDumpBuilder({
  store,
  db: null,
  workDir: args.workDir,
  appVersion: 'bench',
  packetInfo: async () => ({ serverId: 'benchbenchbenchbenchbenchb', serverVersion: '10.5.0' }),
});
const job: DumpJob = {
  id: args.id,
  status: JobStatus.InProgress,
  create_at: Date.now(),
  min_t: args.mint,
  max_t: args.maxt,
  dump_location: '',
  progress: 0,
  error: '',
  data_min_t: 0,
  data_max_t: 0,
  size: 0,
  sha256: '',
  owner: 'bench',
  lease_until: 0,
  update_at: 0,
};
let peak = process.memoryUsage().rss;
/** Peaks of the parts of RSS V8 knows about, to tell live data from garbage and buffers. */
const parts = { heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
const timer = setInterval(() => {
  const m = process.memoryUsage();
  peak = Math.max(peak, m.rss);
  parts.heapTotal = Math.max(parts.heapTotal, m.heapTotal);
  parts.heapUsed = Math.max(parts.heapUsed, m.heapUsed);
  parts.external = Math.max(parts.external, m.external);
  parts.arrayBuffers = Math.max(parts.arrayBuffers, m.arrayBuffers);
}, 100);
const phases: Record<string, number> = {};
const t0 = performance.now();
const c0 = process.cpuUsage();
let lastPct = -1;
const res = await builder.build(
  job,
  (pct) => {
    // Phase boundaries of the builder's progress scale, as seconds since start.
    for (const mark of [25, 50, 75, 98, 100]) if (lastPct < mark && pct >= mark) phases[`at${mark}`] = (performance.now() - t0) / 1000;
    lastPct = pct;
  },
  new AbortController().signal,
);
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(c0);
clearInterval(timer);
peak = Math.max(peak, process.memoryUsage().rss);
await store.delete(res.location);
await store.close();
process.stdout.write(
  'RESULT ' + JSON.stringify({ seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, vmHWM: vmHWM(), sampledPeakRss: peak, parts, size: res.size, phases }) + '\n',
);
