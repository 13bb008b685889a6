import { Worker } from 'node:worker_threads';
import type { UsageRecordsTable } from '../database-schema.ts';

type Reply = { id: number; error?: { message: string; code: string | null } };

/**
 * Writes usage batches to SQLite on a thread of their own (decision 0035), so
 * a flush never holds the event loop: at 2,000 requests a second, a batch and
 * its rollups took some 70 ms of it each second. The thread starts with the
 * gateway and again on the next batch after it dies; a write it could not do rejects with
 * the SQLite code, as the in-thread writer's did.
 */
export class SqliteUsageWriter {
  readonly #file: string;
  readonly #busyTimeoutMs: number;
  #worker: Worker | null = null;
  #nextId = 0;
  readonly #pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();

  constructor(options: { file: string; busyTimeoutMs?: number }) {
    this.#file = options.file;
    // Waiting for another writer costs the thread, not requests: ride over the gateway's own short writes.
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 2_000;
  }

  /** Starts the thread now, so the first flush does not wait for it to load. */
  start(): void {
    this.#thread();
  }

  write(rows: UsageRecordsTable[]): Promise<void> {
    const id = this.#nextId++;
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#thread().postMessage({ id, rows });
    });
  }

  /** After the last write: ends the thread and its connection. */
  async close(): Promise<void> {
    const worker = this.#worker;
    if (worker === null) return;
    this.#worker = null;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ close: true });
    await exited;
  }

  #thread(): Worker {
    if (this.#worker !== null) return this.#worker;
    const worker = new Worker(new URL('./usage-writer-thread.ts', import.meta.url), { workerData: { file: this.#file, busyTimeoutMs: this.#busyTimeoutMs } });
    worker.on('message', (reply: Reply) => {
      const waiting = this.#pending.get(reply.id);
      if (waiting === undefined) return;
      this.#pending.delete(reply.id);
      if (reply.error === undefined) waiting.resolve();
      else waiting.reject(Object.assign(new Error(reply.error.message), reply.error.code === null ? {} : { code: reply.error.code }));
    });
    const lost = (why: string) => {
      if (this.#worker === worker) this.#worker = null;
      // Counted as storage being unusable: the recorder keeps (or spools) the batch and tries again.
      for (const [id, waiting] of this.#pending) {
        this.#pending.delete(id);
        waiting.reject(Object.assign(new Error(`the usage writer thread ${why}`), { code: 'SQLITE_IOERR' }));
      }
    };
    worker.on('error', (error: Error) => lost(`failed: ${error.message}`));
    worker.on('exit', (code) => lost(`exited (${code})`));
    worker.unref();
    this.#worker = worker;
    return worker;
  }
}
