/**
 * Child process for restart-recovery tests: runs a JobRunner (node id argv[3]) over the
 * file store in argv[2] with a builder that never finishes, creates one job, prints
 * `running <id>` once the job is in_progress, and waits to be killed with SIGKILL.
 */
import { openFileJobStore } from '../../../src/jobs/file-store.js';
import { LocalDumpArtifacts } from '../../../src/jobs/local-artifacts.js';
import { JobRunner } from '../../../src/jobs/runner.js';
import { TarDumpBuilder } from './tar-builder.js';

const [dir, nodeId] = [process.argv[2]!, process.argv[3]!];
const store = await openFileJobStore(dir);
const artifacts = new LocalDumpArtifacts(dir);
const runner = new JobRunner({
  store, nodeId, builder: new TarDumpBuilder(dir, { hang: true, stepMs: 20 }), deleteArtifacts: artifacts.deleteArtifacts,
  options: { pollMs: 20, leaseMs: Number(process.argv[4] ?? 60_000) },
});
await runner.start();
const existing = await store.list();
const job = existing[0] ?? (await runner.create({ min_t: 1000, max_t: 2000 }));
for (;;) {
  const j = await store.get(job.id);
  if (j?.status === 'in_progress' && j.owner === nodeId && (j.attempts ?? 0) >= 1) break; // the build has started
  await new Promise((r) => setTimeout(r, 10));
}
process.stdout.write(`running ${job.id}\n`);
setInterval(() => undefined, 1000);
