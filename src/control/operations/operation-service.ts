import type { FastifyBaseLogger } from 'fastify';
import type { Actor, AuditEntry } from '../../domain/audit.ts';
import { errors } from '../../errors/error-catalogue.ts';
import { mapWithConcurrency } from '../../lib/map-with-concurrency.ts';
import { sortableId } from '../../lib/sortable-id.ts';
import { withinTime } from '../../lib/within-time.ts';
import { randomUUID } from 'node:crypto';
import type { OperationStore } from '../../storage/operation-store.ts';
import type { OperationQuery, OperationRunner, OperationTargetView, OperationView, StartOperation } from './operation.ts';

const retentionMs = 7 * 86_400_000;
const pruneEveryMs = 86_400_000;
const sweepEveryMs = 10_000;
/** How long a cancel through another replica waits for the one running the operation to end it. */
const remoteCancelWaitMs = 5_000;

/**
 * The other replicas, for operations that run on one and are watched, cancelled
 * or found orphaned through another (decision 0033). Without replicas, this
 * process is the only one: everything it finds running at start is orphaned.
 */
export interface OperationReplicas {
  /** This replica's id, stored as the owner of what it starts. */
  id: string;
  /** The replicas alive now (their cluster sessions are open), this one included. */
  liveIds(): Promise<ReadonlySet<string>>;
  /** `operation`: its stored state changed; `operation-cancel`: the replica running it should cancel it. */
  announce(topic: 'operation' | 'operation-cancel', id: string): void;
  /** Only the health checker fails orphans, so replicas never race to. */
  isChecker(): boolean;
}

const alone = (): OperationReplicas => ({ id: randomUUID(), liveIds: async () => new Set(), announce: () => undefined, isChecker: () => true });

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
  replicas?: OperationReplicas;
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
  readonly #replicas: OperationReplicas;
  /** Watchers of operations another replica runs: told when it announces a change. */
  readonly #remoteWatchers = new Map<string, Set<(view: OperationView) => void>>();
  /** Orphan candidates of the last sweep: one must be seen twice (a replica's session may blip). */
  #suspects = new Set<string>();
  #pruneTimer: NodeJS.Timeout | null = null;
  #sweepTimer: NodeJS.Timeout | null = null;

  constructor(options: OperationServiceOptions) {
    this.#store = options.store;
    this.#log = options.log;
    this.#concurrency = Math.max(1, options.concurrency);
    this.#persistEveryMs = options.persistEveryMs ?? 1_000;
    this.#audit = options.audit;
    this.#onFinished = options.onFinished;
    this.#now = options.now ?? Date.now;
    this.#replicas = options.replicas ?? alone();
  }

  /**
   * Marks what a stopped process left running as `failed: interrupted` (not
   * what a live replica runs), prunes old ones, and from then on prunes daily
   * and fails the operations of replicas that die (when this one is the checker).
   */
  async recover(): Promise<void> {
    const live = await this.#replicas.liveIds();
    for (const { view, owner } of await this.#store.running()) {
      if (owner !== null && live.has(owner)) continue;
      await this.#interrupt(view);
    }
    await this.prune();
    this.#pruneTimer = setInterval(() => void this.prune(), pruneEveryMs);
    this.#pruneTimer.unref();
    this.#sweepTimer = setInterval(() => void this.sweepOrphans().catch((error: unknown) => this.#log.warn({ err: error instanceof Error ? error.message : 'unknown' }, 'looking for orphaned operations failed')), sweepEveryMs);
    this.#sweepTimer.unref();
  }

  /**
   * Fails operations whose replica is gone (killed, or cut off for two sweeps
   * in a row). Rows without an owner were written by a release before owners
   * and may still be running on one of its replicas: only a start fails those.
   */
  async sweepOrphans(): Promise<number> {
    if (!this.#replicas.isChecker()) {
      this.#suspects.clear();
      return 0;
    }
    const live = await this.#replicas.liveIds();
    const suspects = new Set<string>();
    let failed = 0;
    for (const { view, owner } of await this.#store.running()) {
      if (owner === null || owner === this.#replicas.id || live.has(owner)) continue;
      if (!this.#suspects.has(view.id)) suspects.add(view.id);
      else {
        await this.#interrupt(view);
        failed += 1;
      }
    }
    this.#suspects = suspects;
    return failed;
  }

  async #interrupt(view: OperationView): Promise<void> {
    await this.#endStored(view, 'interrupted');
    this.#log.warn({ operation: view.id, kind: view.kind, model: view.model }, 'an operation was running on a gateway that stopped; marked failed: interrupted');
  }

  /** Ends a stored operation no live process runs: its unfinished targets end as it does. */
  async #endStored(view: OperationView, how: 'interrupted' | 'cancelled'): Promise<OperationView> {
    const stamp = this.#iso();
    const unfinished = (target: OperationTargetView) => target.status === 'running' || target.status === 'pending';
    const ended: OperationView = {
      ...view,
      status: how === 'cancelled' ? 'cancelled' : 'failed',
      error: how === 'cancelled' ? null : 'interrupted',
      updated_at: stamp,
      finished_at: stamp,
      servers: view.servers.map((target) => (!unfinished(target) ? target : how === 'cancelled' ? { ...target, status: 'cancelled' } : { ...target, status: 'failed', error: 'interrupted' })),
    };
    await this.#store.update(ended);
    this.#replicas.announce('operation', view.id);
    return ended;
  }

  /** What another replica announced about an operation (decision 0033); `id` undefined: re-read every watched one. */
  async onRemote(topic: 'operation' | 'operation-cancel', id: string | undefined): Promise<void> {
    if (topic === 'operation-cancel') {
      if (id !== undefined) this.#live.get(id)?.controller.abort(new AbortReason('cancelled'));
      return;
    }
    for (const watched of id === undefined ? [...this.#remoteWatchers.keys()] : [id]) {
      const watchers = this.#remoteWatchers.get(watched);
      if (watchers === undefined) continue;
      const view = await this.#store.get(watched);
      if (view === null) continue;
      for (const watcher of [...watchers]) watcher(view);
      if (view.status !== 'running') this.#remoteWatchers.delete(watched);
    }
  }

  #watchRemote(id: string, listener: (view: OperationView) => void): () => void {
    let watchers = this.#remoteWatchers.get(id);
    if (watchers === undefined) this.#remoteWatchers.set(id, (watchers = new Set()));
    watchers.add(listener);
    return () => {
      watchers.delete(listener);
      if (watchers.size === 0 && this.#remoteWatchers.get(id) === watchers) this.#remoteWatchers.delete(id);
    };
  }

  /** The final state of an operation another replica runs, once it announces it (null after `timeoutMs`). */
  #remoteEnd(id: string, timeoutMs: number | null): Promise<OperationView | null> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      const stop = this.#watchRemote(id, (view) => {
        if (view.status === 'running') return;
        stop();
        if (timer !== null) clearTimeout(timer);
        resolve(view);
      });
      if (timeoutMs !== null) {
        timer = setTimeout(() => {
          stop();
          resolve(null);
        }, timeoutMs);
        timer.unref();
      }
    });
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
    await this.#store.insert(view, this.#replicas.id);
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
    if (live === undefined) return this.#cancelElsewhere(id, actor);
    live.controller.abort(new AbortReason('cancelled'));
    await this.#auditCancel(id, live.view, actor);
    // A target that ignores its signal must not hold the caller: it is shown as it then stands.
    await withinTime(live.done, 5_000);
    return structuredClone(live.view);
  }

  /** An operation another replica runs: that replica is asked to cancel it, and its final state is awaited (bounded). */
  async #cancelElsewhere(id: string, actor: Actor): Promise<OperationView | null> {
    const stored = await this.#store.getWithOwner(id);
    if (stored === null || stored.view.status !== 'running' || stored.owner === null) return stored?.view ?? null;
    if (!(await this.#replicas.liveIds()).has(stored.owner)) {
      // Its replica is gone (the checker has not swept it yet): nothing runs it, so it ends here.
      await this.#auditCancel(id, stored.view, actor);
      return this.#endStored(stored.view, 'cancelled');
    }
    const ended = this.#remoteEnd(id, remoteCancelWaitMs);
    this.#replicas.announce('operation-cancel', id);
    await this.#auditCancel(id, stored.view, actor);
    return (await ended) ?? (await this.#store.get(id));
  }

  async #auditCancel(id: string, view: OperationView, actor: Actor): Promise<void> {
    await this.#audit({ actor, action: 'operation.cancel', targetType: 'operation', targetId: id, before: { kind: view.kind, model: view.model }, after: null }).catch((error: unknown) => {
      this.#log.warn({ err: error instanceof Error ? error.message : 'unknown', operation: id }, 'could not audit a cancel');
    });
  }

  /** Every change of an operation: at once when this replica runs it, as the running replica stores it (about every second) otherwise. */
  subscribe(id: string, listener: (view: OperationView) => void): () => void {
    const live = this.#live.get(id);
    if (live === undefined) return this.#watchRemote(id, listener);
    live.listeners.add(listener);
    return () => live.listeners.delete(listener);
  }

  async settled(id: string): Promise<OperationView> {
    const live = this.#live.get(id);
    if (live !== undefined) return live.done;
    const stored = await this.#store.get(id);
    if (stored === null) throw errors.notFound(`Operation ${id}`);
    if (stored.status !== 'running') return stored;
    // Run by another replica: it announces the end (or the checker does, should that replica die).
    const ended = this.#remoteEnd(id, null);
    // Read again once watching: it may have ended in between.
    await this.onRemote('operation', id);
    return (await ended) as OperationView;
  }

  /** On shutdown: aborts every live operation, which is then recorded `failed: interrupted`. */
  async close(): Promise<void> {
    if (this.#pruneTimer !== null) clearInterval(this.#pruneTimer);
    if (this.#sweepTimer !== null) clearInterval(this.#sweepTimer);
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
      async () => {
        await this.#store.update(snapshot);
        this.#replicas.announce('operation', snapshot.id);
      },
    ).catch((error: unknown) => {
      this.#log.warn({ err: error instanceof Error ? error.message : 'unknown', operation: snapshot.id }, 'could not store an operation’s progress; it carries on');
    });
    return live.writing;
  }

  #iso(): string {
    return new Date(this.#now()).toISOString();
  }
}
