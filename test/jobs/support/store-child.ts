/**
 * Child process for the kill -9 tests: opens a FileJobStore in argv[2] and mutates it
 * in a loop, printing `committed <op> <id>` after each mutation resolved (= durable).
 * The parent kills it with SIGKILL at a random moment and checks the file.
 */
import { openFileJobStore } from '../../../src/jobs/file-store.js';
import { newId } from '../../../src/jobs/id.js';
import { JobStatus, type DumpJob } from '../../../src/jobs/types.js';

const dir = process.argv[2]!;
const store = await openFileJobStore(dir);
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  const now = Date.now();
  const job: DumpJob = {
    id: newId(), status: JobStatus.Pending, create_at: now + i, min_t: 0, max_t: 1000,
    dump_location: '', progress: 0, error: '', data_min_t: 0, data_max_t: 0, size: 0, sha256: '',
    owner: '', lease_until: 0, update_at: now, attempts: 0,
  };
  await store.create(job);
  process.stdout.write(`committed create ${job.id}\n`);
  const claimed = await store.claim('child', 60_000, now);
  if (claimed) {
    claimed.progress = 50;
    await store.update(claimed, 'child');
    process.stdout.write(`committed progress ${claimed.id}\n`);
  }
}
