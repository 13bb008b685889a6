import { errors } from '../errors/error-catalogue.ts';
import type { MetadataFilter, VectorRecord } from '../vectors/vector-store.ts';
import type { Caller, CollectionService } from './collection-service.ts';
import { digestsOf } from './model-facts.ts';
import { physicalNameFor } from './physical-name.ts';
import type { VectorCollection } from './vector-collection.ts';

interface Job {
  target: { name: string; vectorSize: number };
  /** Ids written by stores while the job runs: the job must not overwrite them with what it read before. */
  written: Set<string>;
  /** Deletes made while the job runs, applied to the new collection again just before the swap. */
  deletes: Array<{ ids?: string[]; filter?: MetadataFilter }>;
  controller: AbortController;
  done: Promise<void>;
}

export interface ReembedOptions {
  collections: CollectionService;
  /** Records read and embedded per step. */
  pageSize: number;
  onFinished?: (collection: VectorCollection, seconds: number) => void;
}

/**
 * Re-embeds a collection's stored texts into a new physical collection, in
 * the background, then swaps it in and drops the old one. Searches use the old
 * collection until the swap. Stores and deletes made meanwhile go to both.
 * The embedding cache is not read (its entries may come from the model's
 * previous version, which is why the re-embed runs) but refreshed.
 * Vectors stored precomputed (no text) cannot be re-embedded: they are copied
 * unchanged when their size fits the new collection and left out otherwise;
 * the progress counts both (`skipped`, `dropped`).
 */
export class ReembedRunner {
  readonly #collections: CollectionService;
  readonly #pageSize: number;
  readonly #onFinished: (collection: VectorCollection, seconds: number) => void;
  readonly #jobs = new Map<string, Job>();

  constructor(options: ReembedOptions) {
    this.#collections = options.collections;
    this.#pageSize = options.pageSize;
    this.#onFinished = options.onFinished ?? (() => undefined);
  }

  targetOf(name: string): { name: string; vectorSize: number } | null {
    return this.#jobs.get(name)?.target ?? null;
  }

  /** Learns the model's vector size now (one probe embedding), makes the new collection, then fills it in the background. */
  async start(collection: VectorCollection, caller: Caller): Promise<VectorCollection> {
    if (this.#jobs.has(collection.name)) throw errors.conflict(`The collection "${collection.name}" is being re-embedded already.`);
    const collections = this.#collections;
    const probe = await collections.embedder.embed({ model: collection.model, inputs: ['dimension probe'], requestId: caller.requestId, keyId: caller.keyId, isAllowed: caller.isAllowed, recorded: false, cache: 'no-cache' });
    if (this.#jobs.has(collection.name)) throw errors.conflict(`The collection "${collection.name}" is being re-embedded already.`);
    const target = { name: physicalNameFor(collection.name, (candidate) => collections.isPhysicalNameTaken(candidate), 'next'), vectorSize: probe.dimension };
    const job: Job = { target, written: new Set(), deletes: [], controller: new AbortController(), done: Promise.resolve() };
    this.#jobs.set(collection.name, job);
    try {
      await collections.vectors.ensureCollection({ name: target.name, vectorSize: target.vectorSize, distance: collection.distance });
      const total = await collections.vectors.count(collection.physicalName);
      const digest = collection.staleDigest ?? digestsOf(collections.models.deploymentsOf(collection.model))[0] ?? collection.modelDigest;
      const running = await collections.save({ ...collection, status: 'reembedding', reembedTarget: target.name, reembed: { done: 0, total, skipped: 0, dropped: 0, error: null } }, { actor: caller.actor, action: 'collection.reembed' });
      job.done = this.#run(running, job, caller, digest);
      return running;
    } catch (error) {
      this.#jobs.delete(collection.name);
      await collections.vectors.dropCollection(target.name).catch(() => undefined);
      throw error;
    }
  }

  async alsoWrite(name: string, records: readonly VectorRecord[]): Promise<void> {
    const job = this.#jobs.get(name);
    if (job === undefined) return;
    const fitting = records.filter((record) => record.vector.length === job.target.vectorSize);
    for (const record of fitting) job.written.add(record.id);
    if (fitting.length > 0) await this.#collections.vectors.upsert(job.target.name, fitting);
  }

  async alsoDelete(name: string, selector: { ids?: string[]; filter?: MetadataFilter }): Promise<void> {
    const job = this.#jobs.get(name);
    if (job === undefined) return;
    job.deletes.push(selector);
    for (const id of selector.ids ?? []) job.written.add(id);
    await this.#collections.vectors.delete(job.target.name, selector);
  }

  /** Stops a collection's running job (it is being deleted) and waits for it. */
  async cancel(name: string): Promise<void> {
    const job = this.#jobs.get(name);
    if (job === undefined) return;
    job.controller.abort();
    await job.done;
  }

  /** Stops every running job (shutdown); their collections keep serving the old vectors. */
  async close(): Promise<void> {
    const jobs = [...this.#jobs.values()];
    for (const job of jobs) job.controller.abort();
    await Promise.all(jobs.map((job) => job.done));
  }

  async #run(collection: VectorCollection, job: Job, caller: Caller, digest: string | null): Promise<void> {
    const collections = this.#collections;
    const started = performance.now();
    const progress = { ...(collection.reembed ?? { done: 0, total: 0, skipped: 0, dropped: 0, error: null }) };
    try {
      let after: string | null = null;
      for (;;) {
        if (job.controller.signal.aborted) throw new Error('stopped by a shutdown; start it again');
        const page = await collections.vectors.scan(collection.physicalName, after, this.#pageSize);
        if (page.length === 0) break;
        after = (page.at(-1) as VectorRecord).id;
        const withText = page.filter((record) => record.text !== null);
        const result =
          withText.length === 0
            ? null
            : await collections.embedder.embed({ model: collection.model, inputs: withText.map((record) => record.text as string), requestId: caller.requestId, keyId: caller.keyId, isAllowed: caller.isAllowed, signal: job.controller.signal, cache: 'no-cache' });
        if (result !== null && result.dimension !== job.target.vectorSize) throw new Error(`the model answered vectors of size ${result.dimension} after ${job.target.vectorSize}`);
        const reembedded = withText.map((record, position) => ({ ...record, vector: result?.vectors[position] as number[] }));
        const precomputed = page.filter((record) => record.text === null);
        const carried = precomputed.filter((record) => record.vector.length === job.target.vectorSize);
        // Checked just before the write: a store made since the page was read wins.
        const fresh = [...reembedded, ...carried].filter((record) => !job.written.has(record.id));
        if (fresh.length > 0) await collections.vectors.upsert(job.target.name, fresh);
        progress.done += page.length;
        progress.skipped += precomputed.length;
        progress.dropped += precomputed.length - carried.length;
        const current = collections.get(collection.name);
        if (current === undefined) throw new Error('the collection was deleted');
        await collections.save({ ...current, reembed: { ...progress } });
      }
      for (const selector of job.deletes) await collections.vectors.delete(job.target.name, selector);
      const current = collections.get(collection.name);
      if (current === undefined) throw new Error('the collection was deleted');
      const old = current.physicalName;
      const swapped = await collections.save({
        ...current,
        physicalName: job.target.name,
        vectorSize: job.target.vectorSize,
        status: 'ready',
        modelDigest: digest,
        staleDigest: null,
        reembedTarget: null,
        reembed: { ...progress, total: Math.max(progress.total, progress.done) },
      });
      this.#jobs.delete(collection.name);
      await collections.vectors.dropCollection(old).catch((error: unknown) => collections.log.warn({ collection: collection.name, err: error instanceof Error ? error.message : 'unknown' }, 're-embed: could not drop the old physical collection'));
      collections.log.info({ collection: collection.name, model: collection.model, ...progress }, 're-embed finished; the new vectors serve searches');
      this.#onFinished(swapped, (performance.now() - started) / 1000);
    } catch (error) {
      this.#jobs.delete(collection.name);
      await collections.vectors.dropCollection(job.target.name).catch(() => undefined);
      const message = error instanceof Error ? error.message : 'unknown error';
      collections.log.warn({ collection: collection.name, err: message }, 're-embed failed; the old vectors still serve searches');
      const current = collections.get(collection.name);
      if (current !== undefined) {
        await collections
          .save({ ...current, status: current.staleDigest === null ? 'ready' : 'stale', reembedTarget: null, reembed: { ...progress, error: message } })
          .catch(() => undefined);
      }
    }
  }
}
