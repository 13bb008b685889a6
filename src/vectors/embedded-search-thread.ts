import { Worker } from 'node:worker_threads';
import type { SearchQuery } from './embedded-search.ts';
import { VectorCollectionNotFound, VectorSizeMismatch, type VectorHit } from './vector-store.ts';

interface Answer {
  id: number;
  hits?: VectorHit[];
  error?: { name: string; message: string; collection?: string; expected?: number; actual?: number };
}

/**
 * Runs the embedded backend's searches on one worker thread, one at a time,
 * in order. The worker starts on the first search and again after it dies
 * (the searches it held fail); it never keeps the process alive.
 */
export class EmbeddedSearchThread {
  readonly #file: string;
  #worker: Worker | null = null;
  #nextId = 0;
  readonly #pending = new Map<number, { resolve: (hits: VectorHit[]) => void; reject: (error: Error) => void }>();

  constructor(file: string) {
    this.#file = file;
  }

  search(collection: string, query: SearchQuery): Promise<VectorHit[]> {
    const worker = this.#worker ?? this.#start();
    const id = this.#nextId++;
    return new Promise<VectorHit[]>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.ref(); // held while a search is in flight
      worker.postMessage({ id, collection, query: { vector: [...query.vector], topK: query.topK, filter: query.filter } });
    });
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = null;
    if (worker !== null) await worker.terminate();
  }

  #start(): Worker {
    const worker = new Worker(new URL('./embedded-search-worker.ts', import.meta.url), { workerData: this.#file });
    worker.unref();
    worker.on('message', (answer: Answer) => this.#settle(answer, worker));
    const fail = (error: Error) => {
      if (this.#worker === worker) this.#worker = null;
      for (const { reject } of this.#pending.values()) reject(error);
      this.#pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`The vector search thread stopped (exit code ${code}).`)));
    this.#worker = worker;
    return worker;
  }

  #settle(answer: Answer, worker: Worker): void {
    const waiting = this.#pending.get(answer.id);
    if (waiting === undefined) return;
    this.#pending.delete(answer.id);
    if (this.#pending.size === 0) worker.unref();
    if (answer.hits !== undefined) return waiting.resolve(answer.hits);
    waiting.reject(toError(answer.error));
  }
}

/** The worker's error as the class the store's callers know. */
function toError(error: Answer['error']): Error {
  if (error?.name === 'VectorCollectionNotFound' && error.collection !== undefined) return new VectorCollectionNotFound(error.collection);
  if (error?.name === 'VectorSizeMismatch' && error.expected !== undefined && error.actual !== undefined) {
    return new VectorSizeMismatch(error.expected, error.actual);
  }
  return new Error(error?.message ?? 'The vector search failed.');
}
