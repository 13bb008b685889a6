import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import type { UsageRecordsTable } from '../database-schema.ts';
import { preparedUsageInsert } from './usage-insert.ts';

/**
 * The SQLite usage writer's thread (decision 0035): its own connection to the
 * gateway's database file, one transaction per batch. SQLite calls block the
 * thread that makes them; here, that is not the one serving requests.
 */
const { file, busyTimeoutMs } = workerData as { file: string; busyTimeoutMs: number };
const connection = new BetterSqlite3(file);
connection.pragma('journal_mode = WAL');
connection.pragma('synchronous = FULL');
connection.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
const insert = preparedUsageInsert(connection);

parentPort?.on('message', (message: { id: number; rows: UsageRecordsTable[] } | { close: true }) => {
  if ('close' in message) {
    connection.close();
    parentPort?.close();
    return;
  }
  try {
    insert(message.rows);
    parentPort?.postMessage({ id: message.id });
  } catch (error) {
    // The code (SQLITE_BUSY, SQLITE_IOERR_…) decides whether the batch goes to the spool.
    parentPort?.postMessage({ id: message.id, error: { message: error instanceof Error ? error.message : 'write failed', code: (error as { code?: unknown }).code ?? null } });
  }
});
