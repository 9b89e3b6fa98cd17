/**
 * Private, throwaway database servers for tests that restart or crash the server: a fresh
 * PostgreSQL cluster (initdb + pg_ctl, run as user postgres) or MariaDB datadir
 * (mariadb-install-db + mariadbd --user=mysql) in a temp dir on a free port. Restarting these
 * cannot disturb the shared servers other suites use.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openDb } from '../../src/cluster/db.js';
import type { DriverName } from '../../src/cluster/dsn.js';
import { sleep } from './helpers.js';

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface PrivateDb {
  driver: DriverName;
  dsn: string;
  /** Crash (SIGKILL-like) and start again on the same port and data. */
  crashRestart(): Promise<void>;
  /**
   * Makes the session `sessionId` stop answering without closing its socket (SIGSTOP of its
   * postgres backend; of the whole mariadbd, which runs sessions as threads). Returns the thaw.
   */
  freeze(sessionId: number): () => void;
  stop(): Promise<void>;
}

export function privatePostgresAvailable(): boolean {
  return existsSync(`${PG_BIN}/initdb`) && existsSync('/usr/sbin/runuser') && process.getuid?.() === 0;
}

export function privateMariaDBAvailable(): boolean {
  return existsSync('/usr/sbin/mariadbd') && existsSync('/usr/bin/mariadb-install-db') && process.getuid?.() === 0;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitUp(driver: DriverName, dsn: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const db = openDb(driver, dsn, { poolSize: 1, connectTimeoutMs: 1000 });
    try {
      await db.ping();
      return;
    } catch (e) {
      if (Date.now() > end) throw e;
    } finally {
      await db.close();
    }
    await sleep(100);
  }
}

export async function startPrivatePostgres(): Promise<PrivateDb> {
  const dir = await mkdtemp(join(tmpdir(), 'mmt-pg-'));
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  await chown(dir, uid, gid);
  const data = join(dir, 'data');
  await run('runuser', ['-u', 'postgres', '--', `${PG_BIN}/initdb`, '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const ctl = (...args: string[]) => run('runuser', ['-u', 'postgres', '--', `${PG_BIN}/pg_ctl`, '-D', data, '-l', join(dir, 'log'), ...args]);
  await ctl('-o', opts, '-w', 'start');
  const dsn = `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable&connect_timeout=3`;
  await waitUp('postgres', dsn, 10_000);
  return {
    driver: 'postgres',
    dsn,
    async crashRestart() {
      // Immediate mode: backends quit without a goodbye, as on a crash; WAL recovery on start.
      await ctl('-m', 'immediate', '-w', 'stop');
      await ctl('-o', opts, '-w', 'start');
      await waitUp('postgres', dsn, 10_000);
    },
    freeze(sessionId: number) {
      process.kill(sessionId, 'SIGSTOP');
      return () => process.kill(sessionId, 'SIGCONT');
    },
    async stop() {
      await ctl('-m', 'immediate', '-w', 'stop').catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function startPrivateMariaDB(): Promise<PrivateDb> {
  const dir = await mkdtemp(join(tmpdir(), 'mmt-my-'));
  const uid = Number((await run('id', ['-u', 'mysql'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'mysql'])).stdout.trim());
  await chown(dir, uid, gid);
  const data = join(dir, 'data');
  await run('mariadb-install-db', [`--datadir=${data}`, '--user=mysql', '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve']);
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn(
      '/usr/sbin/mariadbd',
      ['--no-defaults', `--datadir=${data}`, `--port=${port}`, '--bind-address=127.0.0.1', `--socket=${join(dir, 'sock')}`, `--pid-file=${join(dir, 'pid')}`, '--user=mysql', '--innodb-flush-log-at-trx-commit=2', '--skip-log-bin'],
      { stdio: 'ignore' },
    );
    await waitUp('mysql', `root@tcp(127.0.0.1:${port})/mysql?timeout=1s`, 15_000);
    await run('mysql', ['-h', '127.0.0.1', '-P', String(port), '-uroot', '-e', 'CREATE DATABASE IF NOT EXISTS test']);
  };
  const kill = async (sig: NodeJS.Signals) => {
    const c = child as ChildProcess | null;
    if (c === null || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(sig);
    await exited;
  };
  await start();
  return {
    driver: 'mysql',
    dsn: `root@tcp(127.0.0.1:${port})/test?timeout=3s`,
    async crashRestart() {
      await kill('SIGKILL');
      await start();
    },
    freeze() {
      const pid = (child as ChildProcess | null)!.pid!;
      process.kill(pid, 'SIGSTOP');
      return () => process.kill(pid, 'SIGCONT');
    },
    async stop() {
      (child as ChildProcess | null)?.kill('SIGCONT');
      await kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
