/**
 * Child process for the kill -9 durability test (crash.test.ts): opens the DB with a
 * tiny block range so head cuts, WAL checkpoints and block writes happen every few
 * hundred milliseconds (and head chunks are written to chunks_head/ in small pieces), appends forever, and prints `ACK <iteration>` after each
 * commit resolves. The parent SIGKILLs it at a random moment.
 *
 *   node --import tsx test/tsdb/db/crash-child.ts <dir> <firstIteration>
 */
import { Labels } from '../../../src/storage/index.js';
import { openDB } from '../../../src/tsdb/db.js';
import { CRASH_SERIES, crashTime, crashValue } from './crash-shared.js';

const [dir, first] = process.argv.slice(2);
const quiet = process.env.MM_CRASH_LOG === '1' ? { info: () => {}, warn: (o: object, m: string) => process.stderr.write(m + ' ' + JSON.stringify(o) + '\n') } : { info: () => {}, warn: () => {} };
// Tiny chunks_head buffer and files: head chunk records and file cuts are written all the time, so kills land in them too.
const db = await openDB(dir!, { blockRange: 2000, retentionMs: 0, compactionIntervalMs: 20, walSegmentSize: 64 * 1024, headChunkWriteBufferSize: 1024, headChunkFileSize: 8 * 1024, logger: quiet });
db.start();
const lsets = Array.from({ length: CRASH_SERIES }, (_, s) => Labels.fromObject({ __name__: 'crash_test', series: String(s), job: 'crash' }));
const refs = new Array<number>(CRASH_SERIES).fill(0);
process.stdout.write('READY\n');
for (let it = Number(first); ; it++) {
  const app = db.appender();
  for (let s = 0; s < CRASH_SERIES; s++) refs[s] = app.append(refs[s]!, lsets[s]!, crashTime(it), crashValue(it, s));
  await app.commit();
  process.stdout.write(`ACK ${it}\n`);
}
