import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { waitUntil } from './wait-until.ts';

const run = promisify(execFile);

/**
 * A PostgreSQL of the test's own, in a temp dir on a free port, that the test
 * may stop, kill and restart. Tests that take a database away must never
 * touch the shared one on 5432.
 */
export interface OwnPostgres {
  url: string;
  port: number;
  /** `fast` disconnects clients cleanly; `immediate` is a crash (no checkpoint). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  destroy(): Promise<void>;
}

export function postgresBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((entry) => existsSync(join(root, entry, 'bin', 'pg_ctl'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? null : join(root, versions[0], 'bin');
}

/** A free loopback port (closed again at once: the caller binds it next). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

// util-linux's runuser lives in sbin, which a CI shell's PATH may lack: look it up by path.
const runuser = ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser'].find((path) => existsSync(path)) ?? 'runuser';

/** PostgreSQL refuses to run as root: run its binaries as the `postgres` user then. */
function asServerUser(binary: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? [runuser, ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
}

async function ownerIds(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const bin = postgresBinDir();
  if (bin === null) throw new Error('PostgreSQL binaries not found under /usr/lib/postgresql');
  const root = mkdtempSync(join(tmpdir(), 'sy-own-pg-'));
  const owner = await ownerIds();
  if (owner !== null) chownSync(root, owner.uid, owner.gid);
  const dataDir = join(root, 'data');
  const port = await freePort();
  await run(...asServerUser(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']));
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const options = `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=40`;

  const isReady = async (): Promise<boolean> => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  };

  const start = async (): Promise<void> => {
    // pg_ctl returns once the postmaster is forked; readiness is polled below.
    await run(...asServerUser(join(bin, 'pg_ctl'), ['start', '-D', dataDir, '-W', '-l', join(root, 'server.log'), '-o', options]));
    await waitUntil(isReady, { timeoutMs: 30_000, what: `own PostgreSQL on ${port} to accept connections` });
  };

  const stop = async (mode: 'fast' | 'immediate' = 'fast'): Promise<void> => {
    await run(...asServerUser(join(bin, 'pg_ctl'), ['stop', '-D', dataDir, '-m', mode, '-w', '-t', '60']));
  };

  await start();
  return {
    url,
    port,
    stop,
    start,
    destroy: async () => {
      await stop('immediate').catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
