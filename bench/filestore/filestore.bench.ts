/**
 * File store throughput and memory: a 128 MiB streamed put and get on the local backend and
 * on S3 (s3rver in a child process on loopback; s3rver writes to disk itself, so the S3
 * figures measure our client against a slow server, not S3). Also the retained-memory peak of
 * a multipart upload for queue sizes 1, 2 and 4 (5 MiB parts).
 *
 *   node --import tsx bench/filestore/filestore.bench.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLocalFileStore, openS3FileStore, type FileStore } from '../../src/filestore/index.js';
import { memoryProbe, patternStream, sha256OfStream } from '../../test/filestore/helpers.js';
import { startS3rver } from '../../test/filestore/s3rver-server.js';

const MiB = 1024 * 1024;
const SIZE = 128 * MiB;

async function roundTrip(name: string, store: FileStore): Promise<void> {
  const want = await sha256OfStream(patternStream(SIZE));
  let t0 = performance.now();
  await store.put('bench/object', patternStream(SIZE));
  const putS = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const got = await sha256OfStream(await store.get('bench/object'));
  const getS = (performance.now() - t0) / 1000;
  if (got.hash !== want.hash) throw new Error(`${name}: content mismatch`);
  console.log(`FIGURE filestore_${name}_put_128MiB: ${(SIZE / MiB / putS).toFixed(0)} MiB/s`);
  console.log(`FIGURE filestore_${name}_get_128MiB: ${(SIZE / MiB / getS).toFixed(0)} MiB/s`);
  await store.delete('bench/object');
}

const tmp = await mkdtemp(join(tmpdir(), 'mm-fs-bench-'));
const s3 = await startS3rver(['bench']);
try {
  const local = await openLocalFileStore(join(tmp, 'local'));
  await roundTrip('local', local);
  await local.close();

  const remote = openS3FileStore({ bucket: 'bench', endpoint: s3.endpoint, ssl: false, accessKeyId: s3.accessKeyId, secretAccessKey: 'bench' });
  await roundTrip('s3rver', remote);
  await remote.close();

  for (const q of [1, 2, 4]) {
    const st = openS3FileStore({ bucket: 'bench', endpoint: s3.endpoint, ssl: false, accessKeyId: s3.accessKeyId, secretAccessKey: 'bench', uploadQueueSize: q });
    const probe = memoryProbe();
    let next = 0;
    await st.put('bench/mem', patternStream(64 * MiB, (off) => {
      if (off >= next) {
        probe.sample();
        next += 2 * MiB;
      }
    }));
    console.log(`FIGURE filestore_s3_multipart_peak_retained_queue${q}: ${(probe.peak / MiB).toFixed(1)} MiB`);
    await st.delete('bench/mem');
    await st.close();
  }
} finally {
  await s3.stop();
  await rm(tmp, { recursive: true, force: true });
}
