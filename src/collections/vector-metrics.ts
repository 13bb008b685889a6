import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type VectorOperation = 'store' | 'search' | 'get' | 'delete' | 'reembed';

/**
 * Vector operations and collection sizes. Labels are bounded: `model` and
 * `collection` are counted only once they name a registered collection (an
 * unknown name from a caller is a 404 first, never a label).
 */
export class VectorMetrics {
  readonly #operations: Counter<'model' | 'operation'>;
  readonly #duration: Histogram<'operation'>;
  readonly #vectors: Gauge<'collection'>;

  constructor(registry: Registry, counts: () => Promise<Array<{ collection: string; count: number }>>) {
    const registers = [registry];
    this.#operations = new Counter({ name: 'model_vector_operations_total', help: 'Vector store operations by model and operation (store, search, get, delete, reembed).', labelNames: ['model', 'operation'], registers });
    this.#duration = new Histogram({
      name: 'model_vector_operation_duration_seconds',
      help: 'Duration of vector operations, embedding included.',
      labelNames: ['operation'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.#vectors = new Gauge({
      name: 'model_collection_vectors',
      help: 'Vectors stored per collection (after writes, and read again at each scrape).',
      labelNames: ['collection'],
      registers,
      async collect() {
        this.reset();
        for (const { collection, count } of await counts().catch(() => [])) this.set({ collection }, count);
      },
    });
  }

  observe(model: string, operation: VectorOperation, seconds: number): void {
    this.#operations.inc({ model, operation });
    this.#duration.observe({ operation }, seconds);
  }

  setCount(collection: string, count: number): void {
    this.#vectors.set({ collection }, count);
  }

  forget(collection: string): void {
    this.#vectors.remove({ collection });
  }
}
