/**
 * Child process for crash.test.ts: replays + repairs the WAL in argv[2] like the
 * head does on start, then logs records forever with 4 commits in flight, printing
 * `ack <seq>` after each log() resolved. The parent SIGKILLs it at a random moment.
 * Usage: node --import tsx crash-child.ts <dir> <compress 0|1> <seed>
 */
import { WAL, openReader, CorruptionError, PAGE_SIZE, nopWalLogger } from '../../../src/tsdb/wal/index.js';
import { checkPayload, payload } from './helpers.js';

const [dir, compressArg, seedArg] = process.argv.slice(2) as [string, string, string];
const wal = await WAL.open(dir, { segmentSize: 4 * PAGE_SIZE, compress: compressArg === '1', logger: nopWalLogger });
const r = openReader([{ dir, last: wal.activeSegment - 1 }]);
let next = 0;
while (r.next()) {
  const s = checkPayload(r.record());
  if (s !== next) {
    process.stdout.write(`bad expected ${next} got ${s}\n`);
    process.exit(3);
  }
  next++;
}
const err = r.err();
r.close();
if (err !== null) {
  if (!(err instanceof CorruptionError)) throw err;
  await wal.repair(err);
  process.stdout.write(`repaired ${err.segment} ${err.recordOffset} ${err.reason}\n`);
}
process.stdout.write(`start ${next}\n`);

let x = Number(seedArg) >>> 0 || 1;
const rand = () => (x = (x * 1103515245 + 12345) >>> 0) / 4294967296;
let seq = next;
const inflight = new Set<Promise<void>>();
for (;;) {
  while (inflight.size < 4) {
    const s = seq++;
    const u = rand();
    const size = u < 0.6 ? 50 + Math.floor(rand() * 400) : u < 0.9 ? 2000 + Math.floor(rand() * 20000) : 40000 + Math.floor(rand() * 60000);
    const p: Promise<void> = wal.log(payload(s, size)).then(() => {
      process.stdout.write(`ack ${s}\n`);
      inflight.delete(p);
    });
    inflight.add(p);
  }
  await Promise.race(inflight);
}
