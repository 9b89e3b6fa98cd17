/**
 * Child processes running test/cluster/fixtures/elector.ts, and the checks over their
 * combined event logs (no two leaders at once).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sleep } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/elector.ts', import.meta.url));

export interface ElectorEvent {
  ev: 'ready' | 'acquire' | 'lose' | 'work' | 'log' | 'exit';
  pid: number;
  node: string;
  term?: number;
  at?: number;
  waitedMs?: number;
  session?: number;
  reason?: string;
  detail?: string;
  validUntil?: number;
  msg?: string;
}

export interface ElectorTiming {
  retryMs: number;
  healthMs: number;
  healthTimeoutMs: number;
}

export class ElectorProc {
  readonly child: ChildProcess;
  readonly node: string;
  readonly events: ElectorEvent[] = [];
  /** Wall-clock ms of SIGKILL, if we killed it. */
  killedAt = 0;
  exited = false;
  stderr = '';
  private buf = '';

  constructor(env: { driver: string; dsn: string; lockName: string; node: string; timing: ElectorTiming }) {
    this.node = env.node;
    this.child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
      cwd: ROOT,
      env: {
        ...process.env,
        DRIVER: env.driver,
        DSN: env.dsn,
        LOCK_NAME: env.lockName,
        NODE_ID: env.node,
        RETRY_MS: String(env.timing.retryMs),
        HEALTH_MS: String(env.timing.healthMs),
        HEALTH_TIMEOUT_MS: String(env.timing.healthTimeoutMs),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        if (line.trim() === '') continue;
        try {
          this.events.push(JSON.parse(line) as ElectorEvent);
        } catch {
          this.stderr += `unparsed stdout: ${line}\n`;
        }
      }
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (d: string) => (this.stderr += d));
    this.child.on('exit', () => (this.exited = true));
  }

  get pid(): number {
    return this.child.pid!;
  }

  of(ev: ElectorEvent['ev']): ElectorEvent[] {
    return this.events.filter((e) => e.ev === ev);
  }

  /** Leader right now by its own account: an acquire not followed by a lose. */
  get isLeader(): boolean {
    let leader = false;
    for (const e of this.events) {
      if (e.ev === 'acquire') leader = true;
      if (e.ev === 'lose') leader = false;
    }
    return leader && !this.exited;
  }

  kill(sig: NodeJS.Signals): void {
    if (sig === 'SIGKILL') this.killedAt = Date.now();
    this.child.kill(sig);
  }

  async waitExit(timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (!this.exited && Date.now() < end) await sleep(20);
    return this.exited;
  }
}

export interface Interval {
  node: string;
  term: number;
  start: number;
  end: number;
}

/**
 * Leadership intervals by the processes' own account: [acquire.at, lose.validUntil], or up
 * to the SIGKILL time, or open-ended (Infinity) for a current leader.
 */
export function leadershipIntervals(procs: ElectorProc[]): Interval[] {
  const out: Interval[] = [];
  for (const p of procs) {
    let open: ElectorEvent | null = null;
    for (const e of p.events) {
      if (e.ev === 'acquire') open = e;
      if (e.ev === 'lose' && open) {
        out.push({ node: p.node, term: open.term!, start: open.at!, end: e.validUntil! });
        open = null;
      }
    }
    if (open) out.push({ node: p.node, term: open.term!, start: open.at!, end: p.killedAt > 0 ? p.killedAt : p.exited ? lastAt(p) : Infinity });
  }
  return out.sort((a, b) => a.start - b.start);
}

/** Intervals during which a process observed isLeader() === true (its work ticks), per term. */
export function workIntervals(procs: ElectorProc[]): Interval[] {
  const m = new Map<string, Interval>();
  for (const p of procs) {
    for (const e of p.of('work')) {
      const k = `${p.node}/${e.term}`;
      const iv = m.get(k);
      if (iv) iv.end = Math.max(iv.end, e.at!);
      else m.set(k, { node: p.node, term: e.term!, start: e.at!, end: e.at! });
    }
  }
  return [...m.values()].sort((a, b) => a.start - b.start);
}

/** Pairs of intervals that overlap in time (should be empty). */
export function overlaps(ivs: Interval[]): Array<[Interval, Interval]> {
  const bad: Array<[Interval, Interval]> = [];
  for (let i = 1; i < ivs.length; i++) {
    for (let j = 0; j < i; j++) if (ivs[i]!.start < ivs[j]!.end) bad.push([ivs[j]!, ivs[i]!]);
  }
  return bad;
}

function lastAt(p: ElectorProc): number {
  let t = 0;
  for (const e of p.events) if (e.at !== undefined) t = Math.max(t, e.at);
  return t;
}
