/**
 * In a cluster the file store changes under a running dump: the leader replaces its head
 * snapshots every few minutes and prunes the ones it superseded (after a grace period, see
 * dump/head-shipper.ts). A dump that listed a snapshot before it was pruned fails to read
 * it. The data is not gone — the newer snapshot holds it — so such a failure is planned
 * again from a fresh listing instead of failing the job.
 *
 * "An input vanished" is told by the store, not by error text: the build is retried when
 * a block directory present before the attempt is gone after it. Any other failure, an
 * abort, or a third vanished input is the job's error as usual.
 */
import type { Logger } from 'pino';
import type { FileStore } from '../filestore/filestore.js';
import type { DumpBuilder, DumpEstimate, DumpResult } from '../jobs/builder.js';
import type { DumpJob, DumpRequest } from '../jobs/types.js';
import { DATA_ROOT } from '../dump/shipper.js';

const MAX_ATTEMPTS = 3;

export class ReplanningBuilder implements DumpBuilder {
  constructor(
    private readonly inner: DumpBuilder,
    private readonly store: FileStore,
    private readonly log: Logger,
  ) {}

  estimate(req: DumpRequest): Promise<DumpEstimate> {
    return this.inner.estimate(req);
  }

  async build(job: DumpJob, onProgress: (pct: number) => void, signal: AbortSignal): Promise<DumpResult> {
    for (let attempt = 1; ; attempt++) {
      const before = await this.blockDirs();
      try {
        return await this.inner.build(job, onProgress, signal);
      } catch (e) {
        if (signal.aborted || attempt >= MAX_ATTEMPTS) throw e;
        let after: Set<string>;
        try {
          after = await this.blockDirs();
        } catch {
          throw e;
        }
        const vanished = [...before].filter((d) => !after.has(d));
        if (vanished.length === 0) throw e;
        this.log.info(
          { job: job.id, attempt, vanished: vanished.map((d) => d.slice(DATA_ROOT.length + 1)), err: (e as Error).message },
          'dump input replaced during the build (head snapshot pruned); building again from a fresh listing',
        );
      }
    }
  }

  private async blockDirs(): Promise<Set<string>> {
    return new Set(await this.store.listDirs(DATA_ROOT));
  }
}
