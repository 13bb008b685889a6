import type { FastifyBaseLogger } from 'fastify';
import type { Actor, AuditEntry } from '../../domain/audit.ts';
import { errors } from '../../errors/error-catalogue.ts';
import { mapWithConcurrency } from '../../lib/map-with-concurrency.ts';
import { sortableId } from '../../lib/sortable-id.ts';
import { withinTime } from '../../lib/within-time.ts';
import type { OperationStore } from '../../storage/operation-store.ts';
import type { OperationQuery, OperationRunner, OperationTargetView, OperationView, StartOperation } from './operation.ts';

const retentionMs = 7 * 86_400_000;
const pruneEveryMs = 86_400_000;

/** Why a live operation's signal was aborted: an operator cancelled it, or the gateway is stopping. */
class AbortReason extends Error {
  readonly kind: 'cancelled' | 'interrupted';

  constructor(kind: 'cancelled' | 'interrupted') {
    super(kind);
    this.kind = kind;
  }
}

interface LiveOperation {
  view: OperationView;
  controller: AbortController;
  listeners: Set<(view: OperationView) => void>;
  done: Promise<OperationView>;
  /** Writes of this operation, one after another (a later state never lands before an earlier one). */
  writing: Promise<void>;
  persistTimer: NodeJS.Timeout | null;
}

export interface OperationServiceOptions {
  store: OperationStore;
  log: FastifyBaseLogger;
  /** Targets running at once in one operation, unless the operation asks for fewer. */
  concurrency: number;
  /** Progress is written at most this often (ms); status changes are written at once. */
  persistEveryMs?: number;
  /** The operation's audit entry, written when it ends (and when one is cancelled). */
  audit: (entry: AuditEntry) => Promise<void>;
  /** After the final state is stored: the `operation.finished` webhook. */
  onFinished?: (view: OperationView) => void;
  now?: () => number;
}

/**
 * The operations engine: runs each operation's targets in the background with
 * bounded concurrency, keeps the live state in memory for watchers, and the
 * record in storage (docs/decisions/0018). Never awaited by a request beyond
 * the first insert, so a client that goes away changes nothing.
 */
export class OperationService implements OperationRunner {
  readonly #store: OperationStore;
  readonly #log: FastifyBaseLogger;
  readonly #concurrency: number;
  readonly #persistEveryMs: number;
  readonly #audit: (entry: AuditEntry) => Promise<void>;
  readonly #onFinished: ((view: OperationView) => void) | undefined;
  readonly #now: () => number;
  readonly #live = new Map<string, LiveOperation>();
  #pruneTimer: NodeJS.Timeout | null = null;

  constructor(options: OperationServiceOptions) {
    this.#store = options.store;
    this.#log = options.log;
    this.#concurrency = Math.max(1, options.concurrency);
    this.#persistEveryMs = options.persistEveryMs ?? 1_000;
    this.#audit = options.audit;
    this.#onFinished = options.onFinished;
    this.#now = options.now ?? Date.now;
  }

  /** Marks what a previous process left running as `failed: interrupted`, prunes old ones, and prunes daily from then on. */
  async recover(): Promise<void> {
    const stamp = this.#iso();
    for (const view of await this.#store.running()) {
      const ended: OperationView = {
        ...view,
        status: 'failed',
        error: 'interrupted',
        updated_at: stamp,
        finished_at: stamp,
        servers: view.servers.map((target) => (target.status === 'running' || target.status === 'pending' ? { ...target, status: 'failed', error: 'interrupted' } : target)),
      };
      await this.#store.update(ended);
      this.#log.warn({ operation: view.id, kind: view.kind, model: view.model }, 'an operation was running when the gateway stopped; marked failed: interrupted');
    }
    await this.prune();
    this.#pruneTimer = setInterval(() => void this.prune(), pruneEveryMs);
    this.#pruneTimer.unref();
  }

  async prune(): Promise<number> {
    try {
      return await this.#store.prune(new Date(this.#now() - retentionMs).toISOString());
    } catch (error) {
      this.#log.warn({ err: error instanceof Error ? error.message : 'unknown' }, 'pruning old operations failed');
      return 0;
    }
  }

  async start(spec: StartOperation): Promise<OperationView> {
    if (spec.targets.length === 0) throw errors.invalidRequest('No server to act on.', 'servers');
    const stamp = this.#iso();
    const view: OperationView = {
      id: sortableId(this.#now()),
      kind: spec.kind,
      status: 'running',
      model: spec.model,
      params: spec.params ?? {},
      actor_key_id: spec.actor.keyId,
      created_at: stamp,
      updated_at: stamp,
      finished_at: null,
      error: null,
      servers: spec.targets.map((target) => ({ server_id: target.server_id, name: target.name, status: 'pending', completed: null, total: null, digest: null, message: null })),
    };
    // Written before anything starts: an operation that could not be recorded never runs.
    await this.#store.insert(view);
    const live: LiveOperation = { view, controller: new AbortController(), listeners: new Set(), done: Promise.resolve(view), writing: Promise.resolve(), persistTimer: null };
    this.#live.set(view.id, live);
    live.done = this.#execute(live, spec);
    return structuredClone(view);
  }

  async get(id: string): Promise<OperationView | null> {
    const live = this.#live.get(id);
    return live === undefined ? this.#store.get(id) : structuredClone(live.view);
  }

  async list(query: OperationQuery): Promise<OperationView[]> {
    const stored = await this.#store.list(query);
    return stored.map((view) => {
      const live = this.#live.get(view.id);
      return live === undefined ? view : structuredClone(live.view);
    });
  }

  async cancel(id: string, actor: Actor): Promise<OperationView | null> {
    const live = this.#live.get(id);
    if (live === undefined) return this.#store.get(id);
    live.controller.abort(new AbortReason('cancelled'));
    await this.#audit({ actor, action: 'operation.cancel', targetType: 'operation', targetId: id, before: { kind: live.view.kind, model: live.view.model }, after: null }).catch((error: unknown) => {
      this.#log.warn({ err: error instanceof Error ? error.message : 'unknown', operation: id }, 'could not audit a cancel');
    });
    // A target that ignores its signal must not hold the caller: it is shown as it then stands.
    await withinTime(live.done, 5_000);
    return structuredClone(live.view);
  }

  subscribe(id: string, listener: (view: OperationView) => void): () => void {
    const live = this.#live.get(id);
    if (live === undefined) return () => undefined;
    live.listeners.add(listener);
    return () => live.listeners.delete(listener);
  }

  async settled(id: string): Promise<OperationView> {
    const live = this.#live.get(id);
    if (live !== undefined) return live.done;
    const stored = await this.#store.get(id);
    if (stored === null) throw errors.notFound(`Operation ${id}`);
    return stored;
  }

  /** On shutdown: aborts every live operation, which is then recorded `failed: interrupted`. */
  async close(): Promise<void> {
    if (this.#pruneTimer !== null) clearInterval(this.#pruneTimer);
    const running = [...this.#live.values()];
    for (const live of running) live.controller.abort(new AbortReason('interrupted'));
    await Promise.allSettled(running.map((live) => live.done));
  }

  async #execute(live: LiveOperation, spec: StartOperation): Promise<OperationView> {
    const { view, controller } = live;
    const limit = Math.max(1, Math.min(spec.concurrency ?? this.#concurrency, this.#concurrency));
    await mapWithConcurrency(spec.targets, limit, async (target) => {
      const index = spec.targets.indexOf(target);
      const state = view.servers[index] as OperationTargetView;
      if (controller.signal.aborted) return this.#endAborted(state, controller.signal);
      state.status = 'running';
      this.#changed(live, true);
      try {
        const result = await spec.run(
          target,
          (update) => {
            if (state.status !== 'running') return;
            if (update.message !== undefined) state.message = update.message;
            if (update.completed !== undefined) state.completed = update.completed;
            if (update.total !== undefined) state.total = update.total;
            if (update.digest !== undefined) state.digest = update.digest;
            this.#changed(live, false);
          },
          controller.signal,
        );
        if (controller.signal.aborted) this.#endAborted(state, controller.signal);
        else {
          state.status = 'succeeded';
          if (result !== undefined && result.digest !== undefined) state.digest = result.digest;
        }
      } catch (error) {
        if (controller.signal.aborted) this.#endAborted(state, controller.signal);
        else {
          state.status = 'failed';
          state.error = error instanceof Error ? error.message : 'failed';
        }
      }
      this.#changed(live, true);
    });
    const reason: unknown = controller.signal.reason;
    const stamp = this.#iso();
    view.status = controller.signal.aborted && reason instanceof AbortReason && reason.kind === 'cancelled' ? 'cancelled' : view.servers.every((target) => target.status === 'succeeded') ? 'succeeded' : 'failed';
    if (controller.signal.aborted && reason instanceof AbortReason && reason.kind === 'interrupted') view.error = 'interrupted';
    view.updated_at = stamp;
    view.finished_at = stamp;
    if (live.persistTimer !== null) clearTimeout(live.persistTimer);
    await this.#persist(live);
    this.#live.delete(view.id);
    const final = structuredClone(view);
    for (const listener of live.listeners) listener(final);
    live.listeners.clear();
    this.#log.info({ operation: view.id, kind: view.kind, model: view.model, status: view.status }, 'operation finished');
    await this.#audit({
      actor: spec.actor,
      action: `operation.${view.kind}`,
      targetType: 'operation',
      targetId: view.id,
      before: null,
      after: { model: view.model, params: view.params, status: view.status, servers: view.servers.map((target) => ({ server_id: target.server_id, name: target.name, status: target.status, ...(target.error === undefined ? {} : { error: target.error }) })) },
    }).catch((error: unknown) => this.#log.warn({ err: error instanceof Error ? error.message : 'unknown', operation: view.id }, 'could not audit an operation'));
    for (const hook of [spec.onFinished, this.#onFinished]) {
      try {
        hook?.(final);
      } catch (error) {
        this.#log.warn({ err: error instanceof Error ? error.message : 'unknown', operation: view.id }, 'an operation.finished hook failed');
      }
    }
    return final;
  }

  #endAborted(state: OperationTargetView, signal: AbortSignal): void {
    const reason: unknown = signal.reason;
    if (reason instanceof AbortReason && reason.kind === 'cancelled') state.status = 'cancelled';
    else {
      state.status = 'failed';
      state.error = 'interrupted';
    }
  }

  /** Tells watchers at once; writes at once for a status change, at most every persistEveryMs for progress. */
  #changed(live: LiveOperation, isStatusChange: boolean): void {
    live.view.updated_at = this.#iso();
    if (live.listeners.size > 0) {
      const snapshot = structuredClone(live.view);
      for (const listener of live.listeners) listener(snapshot);
    }
    if (isStatusChange) {
      if (live.persistTimer !== null) clearTimeout(live.persistTimer);
      live.persistTimer = null;
      void this.#persist(live);
      return;
    }
    if (live.persistTimer !== null) return;
    live.persistTimer = setTimeout(() => {
      live.persistTimer = null;
      void this.#persist(live);
    }, this.#persistEveryMs);
    live.persistTimer.unref();
  }

  #persist(live: LiveOperation): Promise<void> {
    const snapshot = structuredClone(live.view);
    live.writing = live.writing.then(
      () => this.#store.update(snapshot),
    ).catch((error: unknown) => {
      this.#log.warn({ err: error instanceof Error ? error.message : 'unknown', operation: snapshot.id }, 'could not store an operation’s progress; it carries on');
    });
    return live.writing;
  }

  #iso(): string {
    return new Date(this.#now()).toISOString();
  }
}
