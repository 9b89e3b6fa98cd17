/**
 * A small DumpBuilder for tests: writes a real tar.gz (metadata.yaml + a block-like
 * folder of deterministic bytes) at the real dump location under a local root, in
 * steps with progress, honouring the abort signal. It stands in for src/dump until the
 * real builder lands; every byte it writes is real, so download/sha256 checks are real.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import * as tar from 'tar';
import type { DumpBuilder, DumpEstimate, DumpResult } from '../../../src/jobs/builder.js';
import { dumpDir, dumpLocation } from '../../../src/jobs/paths.js';
import type { DumpJob, DumpRequest } from '../../../src/jobs/types.js';

export interface TarBuilderOptions {
  /** Bytes of payload per dump (deterministic, derived from the job id). */
  payloadBytes: number;
  /** Progress steps and the pause between them (ms). */
  steps: number;
  stepMs: number;
  /** Return an error message to make the build of that job fail. */
  failWith: (job: DumpJob) => string | null;
  /** Never finish unless aborted (for crash/recovery tests). */
  hang: boolean;
}

export class TarDumpBuilder implements DumpBuilder {
  readonly root: string;
  readonly opts: TarBuilderOptions;
  builds: number;
  estimates: DumpRequest[];

  constructor(root: string, opts: Partial<TarBuilderOptions> = {}) {
    this.root = root;
    this.opts = { payloadBytes: 64 * 1024, steps: 4, stepMs: 5, failWith: () => null, hang: false, ...opts };
    this.builds = 0;
    this.estimates = [];
  }

  async estimate(req: DumpRequest): Promise<DumpEstimate> {
    this.estimates.push(req);
    const hours = Math.max(1, Math.ceil((req.max_t - req.min_t) / 3_600_000));
    return { bytes: this.opts.payloadBytes + 1024, blocks: Math.ceil(hours / 2), series: 100 * hours };
  }

  async build(job: DumpJob, onProgress: (pct: number) => void, signal: AbortSignal): Promise<DumpResult> {
    this.builds++;
    const stage = path.join(this.root, dumpDir(job.id), 'staging');
    await fsp.rm(stage, { recursive: true, force: true });
    await fsp.mkdir(path.join(stage, 'data', '01HZZZZZZZZZZZZZZZZZZZZZZZ', 'chunks'), { recursive: true });
    for (let i = 0; i < this.opts.steps || this.opts.hang; i++) {
      signal.throwIfAborted();
      await sleepAbortable(this.opts.stepMs, signal);
      onProgress(((i + 1) * 100) / (this.opts.steps + 1));
    }
    const fail = this.opts.failWith(job);
    if (fail) throw new Error(fail);
    await fsp.writeFile(path.join(stage, 'metadata.yaml'), `version: 1\ntype: plugin-packet\nextras:\n  min: ${job.min_t}\n  max: ${job.max_t}\n`);
    await fsp.writeFile(path.join(stage, 'data', '01HZZZZZZZZZZZZZZZZZZZZZZZ', 'chunks', '000001'), payloadFor(job.id, this.opts.payloadBytes));
    const loc = dumpLocation(job.id);
    const final = path.join(this.root, loc);
    const tmp = final + '.tmp';
    await tar.create({ gzip: true, file: tmp, cwd: stage, portable: true }, ['metadata.yaml', 'data']);
    signal.throwIfAborted();
    await fsp.rename(tmp, final);
    await fsp.rm(stage, { recursive: true, force: true });
    const st = await fsp.stat(final);
    return { location: loc, size: st.size, sha256: await sha256File(final), data_min_t: job.min_t, data_max_t: job.max_t };
  }
}

/** Deterministic pseudo-random bytes (xorshift seeded by the id) that gzip cannot shrink much. */
export function payloadFor(id: string, n: number): Buffer {
  let x = 2463534242;
  for (let i = 0; i < id.length; i++) x = (x ^ id.charCodeAt(i)) * 16777619 >>> 0;
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

export async function sha256File(p: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(p)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function sleepAbortable(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
