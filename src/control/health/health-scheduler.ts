import type { FastifyBaseLogger } from 'fastify';
import type { HealthSettings } from '../../config/config-schema.ts';
import { Semaphore } from '../../lib/semaphore.ts';
import type { HistoryStore } from '../../storage/history-store.ts';
import type { ServerRegistry } from '../servers/server-registry.ts';
import type { CheckReport, ServerChecker } from './server-checker.ts';

const tickMs = 250;
const pruneEveryMs = 60 * 60 * 1000;

/**
 * Runs each active server's health check on its own interval, at most
 * `concurrency` at a time. A check already running for a server is shared,
 * never doubled; a hung server costs one slot for at most its probe deadline.
 */
export class HealthScheduler {
  readonly #registry: ServerRegistry;
  readonly #checker: ServerChecker;
  readonly #history: HistoryStore;
  readonly #settings: HealthSettings;
  readonly #log: FastifyBaseLogger;
  readonly #semaphore: Semaphore;
  readonly #dueAt = new Map<string, number>();
  readonly #inFlight = new Map<string, Promise<CheckReport>>();
  #timer: NodeJS.Timeout | null = null;
  #lastPrune = 0;
  #unsubscribe: (() => void) | null = null;
  readonly #isChecker: () => boolean;

  constructor(options: {
    registry: ServerRegistry;
    checker: ServerChecker;
    history: HistoryStore;
    settings: HealthSettings;
    log: FastifyBaseLogger;
    /** With replicas, only the one holding the checker lock probes on schedule; the others read its results (decision 0033). */
    isChecker?: () => boolean;
  }) {
    this.#registry = options.registry;
    this.#checker = options.checker;
    this.#history = options.history;
    this.#settings = options.settings;
    this.#log = options.log;
    this.#semaphore = new Semaphore(options.settings.concurrency);
    this.#isChecker = options.isChecker ?? (() => true);
  }

  start(): void {
    if (this.#timer !== null) return;
    const now = Date.now();
    for (const server of this.#registry.list()) {
      // Spread the first round so a restart does not probe the whole fleet at once.
      this.#dueAt.set(server.id, now + Math.random() * Math.min(server.healthCheckIntervalS * 1000, 5_000));
    }
    this.#unsubscribe = this.#registry.onEvent((event) => {
      if (event.type === 'server.created') this.#dueAt.set(event.server.id, Date.now());
      if (event.type === 'server.updated') this.#dueAt.set(event.server.id, event.connectionChanged ? Date.now() : this.#dueAt.get(event.server.id) ?? Date.now());
      if (event.type === 'server.deleted') this.#dueAt.delete(event.server.id);
    });
    this.#timer = setInterval(() => this.#tick(), tickMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#unsubscribe?.();
    await Promise.allSettled([...this.#inFlight.values()]);
  }

  /** Checks one server now (sharing a check already under way). Counts toward its status. */
  checkNow(serverId: string): Promise<CheckReport> {
    const running = this.#inFlight.get(serverId);
    if (running !== undefined) return running;
    const check = this.#semaphore
      .run(() => this.#checker.check(serverId))
      .finally(() => {
        this.#inFlight.delete(serverId);
        const server = this.#registry.get(serverId);
        if (server !== undefined) this.#dueAt.set(serverId, Date.now() + server.healthCheckIntervalS * 1000);
      });
    this.#inFlight.set(serverId, check);
    return check;
  }

  /** Checks every registered server, concurrently within the bound. */
  async checkAll(): Promise<CheckReport[]> {
    return Promise.all(this.#registry.list().map((server) => this.checkNow(server.id)));
  }

  #tick(): void {
    if (!this.#isChecker()) return;
    const now = Date.now();
    for (const server of this.#registry.list()) {
      if (!server.isActive || this.#inFlight.has(server.id)) continue;
      const due = this.#dueAt.get(server.id) ?? now;
      if (due > now) continue;
      this.checkNow(server.id).catch((error: unknown) => {
        this.#log.warn({ server: server.name, err: error instanceof Error ? error.message : 'unknown' }, 'health check failed to run');
      });
    }
    if (now - this.#lastPrune > pruneEveryMs) {
      this.#lastPrune = now;
      void this.pruneHistory();
    }
  }

  /** Deletes health history and load samples older than the retention. */
  async pruneHistory(): Promise<number> {
    const before = new Date(Date.now() - this.#settings.history_retention_hours * 3_600_000).toISOString();
    try {
      const removed = await this.#history.prune(before);
      if (removed > 0) this.#log.info({ removed }, 'pruned health history');
      return removed;
    } catch (error) {
      this.#log.warn({ err: error instanceof Error ? error.message : 'unknown' }, 'pruning health history failed');
      return 0;
    }
  }
}
