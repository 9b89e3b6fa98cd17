/**
 * Archives one staged directory into a local store with one implementation, in its own
 * process (so CPU seconds include only this work). Prints `RESULT {json}`.
 *   argv: <impl: node-tar | ours-1 | ours-N> <stageDir> <storeRoot>
 */
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { openLocalFileStore } from '../../src/filestore/local.js';
import { uploadTarGz } from '../../src/dump/archive.js';
import { uploadTarGzNodeTar } from './node-tar-archive.js';

const [impl, stage, root] = process.argv.slice(2) as [string, string, string];
const store = await openLocalFileStore({ root });
const entries = readdirSync(stage).sort();
const t0 = performance.now();
const c0 = process.cpuUsage();
const key = `bench/${impl}.tar.gz`;
const res =
  impl === 'node-tar'
    ? await uploadTarGzNodeTar(stage, entries, store, key)
    : await uploadTarGz(stage, entries, store, key, undefined, { parallel: impl === 'ours-1' ? 1 : availableParallelism() });
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(c0);
await store.delete(key);
process.stdout.write('RESULT ' + JSON.stringify({ seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, size: res.size }) + '\n');
