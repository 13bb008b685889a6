import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { searchEmbedded, type SearchQuery } from './embedded-search.ts';

/**
 * The embedded backend's search thread: its own connection to vectors.db
 * (WAL: it reads the last committed state while the store's connection
 * writes), so a scan of a large collection runs beside the event loop.
 */
const connection = new BetterSqlite3(workerData as string, { fileMustExist: true });
sqliteVec.load(connection);
connection.pragma('busy_timeout = 1000');
connection.pragma('mmap_size = 4294967296');

parentPort?.on('message', (message: { id: number; collection: string; query: SearchQuery }) => {
  try {
    parentPort?.postMessage({ id: message.id, hits: searchEmbedded(connection, message.collection, message.query) });
  } catch (error) {
    const { name, message: text, collection, expected, actual } = error as Error & Record<string, unknown>;
    parentPort?.postMessage({ id: message.id, error: { name, message: text, collection, expected, actual } });
  }
});
