/**
 * The data directory's `lock` file: one writer process per TSDB directory.
 *
 * Prometheus holds an flock(2) on `<dir>/lock`. Node has no flock, so we use an
 * O_EXCL-created lock file that names its owner, with stale-lock detection:
 *
 * ```
 *   lock  ─ "mm-metrics-lock v1\npid=123\nstart=456789\nboot=<boot id>\nhost=<hostname>\n"
 *
 *   acquire:  open(lock, O_CREAT|O_EXCL) ──ok──► write owner, fsync ► held
 *                  │ EEXIST
 *                  ▼
 *             read owner ─► alive? ──yes──► refuse: "locked by pid 123 on host h (since …)"
 *                  │ no (process gone, pid reused by another start time, other boot)
 *                  ▼
 *             rename(lock → lock.stale.<pid>.<rand>) ─► check it was the file we judged ─► retry O_EXCL
 * ```
 *
 * "Alive" on Linux compares the pid's start time in /proc/<pid>/stat and the boot id,
 * so a pid reused after a crash or a container restart does not keep the lock; elsewhere
 * it is `kill(pid, 0)`. A lock written on another host cannot be checked and is refused.
 *
 * An empty or foreign `lock` file is what Prometheus leaves (it flocks an empty file and
 * never deletes it). If `/usr/bin/flock` exists we probe it (`flock -n`): when the probe
 * finds the file flock'ed, a live Prometheus owns the directory and we refuse; otherwise
 * the file is stale and taken over.
 *
 * Limits: this excludes other mm-metrics processes and a running Prometheus found at
 * startup; it does not stop a Prometheus started *later* on a directory we hold (it would
 * flock our file successfully). Two processes racing to take over the same stale lock
 * are resolved by the atomic rename: only one rename of the stale file succeeds.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

const MAGIC = 'mm-metrics-lock v1';

/** The directory is locked by someone else. Stable code for the CLI. */
export class LockError extends Error {
  readonly code = 'MM_ERR_DB_LOCKED';
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.name = 'LockError';
    this.path = path;
  }
}

/** Directories locked by this process (a second open in the same process is refused too). */
const heldHere = new Set<string>();

interface Owner {
  pid: number;
  start: string;
  boot: string;
  host: string;
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

/** Start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat), '' if unknown. */
function procStart(pid: number): string | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and parentheses: split after the last ')'.
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? '';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null; // no such process
    return '';
  }
}

function ownerText(o: Owner): string {
  return `${MAGIC}\npid=${o.pid}\nstart=${o.start}\nboot=${o.boot}\nhost=${o.host}\n`;
}

function parseOwner(text: string): Owner | null {
  if (!text.startsWith(MAGIC + '\n')) return null;
  const kv = new Map<string, string>();
  for (const line of text.split('\n').slice(1)) {
    const i = line.indexOf('=');
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1));
  }
  const pid = Number(kv.get('pid'));
  if (!Number.isInteger(pid) || pid <= 0) return null;
  return { pid, start: kv.get('start') ?? '', boot: kv.get('boot') ?? '', host: kv.get('host') ?? '' };
}

/** Whether the process described by `o` still runs; null when it cannot be told (other host). */
function ownerAlive(o: Owner, me: Owner): boolean | null {
  if (o.host !== me.host) return null;
  if (o.boot !== '' && me.boot !== '' && o.boot !== me.boot) return false;
  // Our own pid: not held by an open DB of this process (checked first), so it is a
  // leftover of an earlier process that had the same pid (containers restart as pid 1).
  if (o.pid === me.pid) return false;
  const start = procStart(o.pid);
  if (start === null) return false;
  if (start !== '' && o.start !== '') return start === o.start;
  try {
    process.kill(o.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Probes a foreign (Prometheus) lock with flock(1); true when another process holds an flock on it. */
function flockHeld(path: string): boolean {
  if (!existsSync('/usr/bin/flock')) return false;
  const r = spawnSync('/usr/bin/flock', ['-n', '-E', '75', path, 'true'], { stdio: 'ignore', timeout: 5000 });
  return r.status === 75;
}

/** A held lock; `release()` removes the file if it is still ours. */
export class DirLock {
  readonly path: string;
  private readonly text: string;
  private released: boolean;

  constructor(path: string, text: string) {
    this.path = path;
    this.text = text;
    this.released = false;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    heldHere.delete(this.path);
    try {
      if (readFileSync(this.path, 'utf8') === this.text) rmSync(this.path, { force: true });
    } catch {
      // already gone
    }
  }
}

/**
 * Takes `<dir>/lock` or throws `LockError` naming the owner. `onStale` is told when a
 * stale lock was taken over (for one log line).
 */
export function acquireDirLock(dir: string, onStale: (what: string) => void = () => {}): DirLock {
  const path = join(dir, 'lock');
  if (heldHere.has(path)) throw new LockError(path, `tsdb directory ${dir} is already open in this process`);
  const me: Owner = { pid: process.pid, start: procStart(process.pid) ?? '', boot: bootId(), host: hostname() };
  const text = ownerText(me);
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      takeOverIfStale(path, dir, me, onStale);
      continue;
    }
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    heldHere.add(path);
    return new DirLock(path, text);
  }
  throw new LockError(path, `could not take the lock ${path}: it keeps changing (another process is starting on ${dir}?)`);
}

function takeOverIfStale(path: string, dir: string, me: Owner, onStale: (what: string) => void): void {
  let seen: string;
  try {
    seen = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // released meanwhile: retry
    throw e;
  }
  const o = parseOwner(seen);
  let what: string;
  if (o === null) {
    // Empty/foreign: what Prometheus leaves; a live Prometheus holds an flock on it.
    if (flockHeld(path)) {
      throw new LockError(path, `tsdb directory ${dir} is locked by another process (flock held on ${path}; a running Prometheus?)`);
    }
    what = 'unowned lock file (left by Prometheus or an older version)';
  } else {
    const alive = ownerAlive(o, me);
    if (alive === null) {
      throw new LockError(path, `tsdb directory ${dir} is locked by pid ${o.pid} on host ${o.host}; if that process is gone, delete ${path}`);
    }
    if (alive) throw new LockError(path, `tsdb directory ${dir} is locked by running process pid ${o.pid} (another mm-metrics?)`);
    what = `stale lock of pid ${o.pid} (process gone)`;
  }
  const aside = `${path}.stale.${process.pid}.${Math.random().toString(36).slice(2, 8)}`;
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // another process took it: retry
    throw e;
  }
  let moved = '';
  try {
    moved = readFileSync(aside, 'utf8');
  } catch {
    // ignore
  }
  if (moved !== seen) {
    // We moved a lock someone wrote after our check: put it back if the slot is still free.
    try {
      renameSync(aside, path);
    } catch {
      // ignore; the retry will see whatever is there
    }
    return;
  }
  rmSync(aside, { force: true });
  onStale(what);
}
