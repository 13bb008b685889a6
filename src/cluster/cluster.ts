import { randomUUID } from 'node:crypto';
import type { LoadMetrics } from '../data/adapters/server-adapter.ts';

/** What replicas tell each other. Changes carry no data: the receiver reads storage, which is the truth. */
export type ClusterEvent =
  /** Something under `topic` changed (one `id`, or all of it). */
  | { type: 'changed'; topic: string; id?: string }
  /** The checker probed a server and stored the outcome; `load` is its queue, which is not stored. */
  | { type: 'checked'; server: string; load: LoadMetrics | null }
  /** A deployment's circuit opened, or its server asked for a pause (Retry-After): for `ms` from now. */
  | { type: 'circuit' | 'cooldown'; server: string; model: string; ms: number }
  /** Presence, every few seconds. */
  | { type: 'hello'; replica: ReplicaInfo };

export interface ReplicaInfo {
  id: string;
  name: string;
  version: string;
  startedAt: string;
  checker: boolean;
}

export interface ReplicaView extends ReplicaInfo {
  self: boolean;
  lastSeenAt: string;
}

/** The transport (PostgreSQL LISTEN/NOTIFY in production). */
export interface ClusterTransport {
  publish(payload: string): Promise<void>;
  readonly connected: boolean;
}

export interface ClusterHandlers {
  /** Reloads a topic (one id, or all of it when id is undefined) from storage. */
  reload: Record<string, (id?: string) => Promise<void>>;
  checked: (server: string, load: LoadMetrics | null) => Promise<void>;
  circuit: (server: string, model: string, ms: number) => void;
  cooldown: (server: string, model: string, ms: number) => void;
}

export interface ClusterCounters {
  sent: (type: ClusterEvent['type']) => void;
  received: (type: ClusterEvent['type']) => void;
}

// NOTIFY payloads stop at 8000 bytes; a larger load report is left out (the receiver keeps the last one).
const maxPayloadBytes = 7_900;
const replicaExpiryMs = 15_000;

/**
 * One replica's side of the cluster: announces what changed here, applies
 * what changed elsewhere (by reading storage), and tracks which replicas are
 * alive. Messages for one topic and id are applied in order, one at a time.
 */
export class Cluster {
  readonly replicaId: string;
  readonly #transport: ClusterTransport;
  readonly #handlers: ClusterHandlers;
  readonly #counters: ClusterCounters;
  readonly #onError: (what: string, error: unknown) => void;
  readonly #clock: () => number;
  readonly #chains = new Map<string, Promise<void>>();
  readonly #replicas = new Map<string, { info: ReplicaInfo; lastSeen: number }>();
  #lastMessageAt: number | null = null;

  constructor(options: { replicaId?: string; transport: ClusterTransport; handlers: ClusterHandlers; counters: ClusterCounters; onError: (what: string, error: unknown) => void; clock?: () => number }) {
    this.replicaId = options.replicaId ?? randomUUID();
    this.#transport = options.transport;
    this.#handlers = options.handlers;
    this.#counters = options.counters;
    this.#onError = options.onError;
    this.#clock = options.clock ?? Date.now;
  }

  get connected(): boolean {
    return this.#transport.connected;
  }

  get lastMessageAt(): number | null {
    return this.#lastMessageAt;
  }

  /** Tells the other replicas; never throws (a replica that misses it catches up on reconnect). */
  send(event: ClusterEvent): void {
    let payload = JSON.stringify({ from: this.replicaId, ...event });
    if (Buffer.byteLength(payload) > maxPayloadBytes && event.type === 'checked') payload = JSON.stringify({ from: this.replicaId, ...event, load: null });
    this.#counters.sent(event.type);
    this.#transport.publish(payload).catch((error: unknown) => this.#onError(`could not tell the other replicas (${event.type})`, error));
  }

  announce(topic: string, id?: string): void {
    this.send(id === undefined ? { type: 'changed', topic } : { type: 'changed', topic, id });
  }

  /** A message from the transport (our own come back too, and are skipped). */
  receive(payload: string): void {
    let message: ClusterEvent & { from?: unknown };
    try {
      message = JSON.parse(payload) as ClusterEvent & { from?: unknown };
    } catch {
      return;
    }
    if (message.from === this.replicaId) return;
    this.#lastMessageAt = this.#clock();
    this.#counters.received(message.type);
    switch (message.type) {
      case 'changed': {
        if (message.topic === '*') {
          void this.resynchronise();
          return;
        }
        const reload = this.#handlers.reload[message.topic];
        if (reload !== undefined) this.#inOrder(`${message.topic}:${message.id ?? '*'}`, () => reload(message.id));
        return;
      }
      case 'checked':
        this.#inOrder(`servers:${message.server}`, () => this.#handlers.checked(message.server, message.load));
        return;
      case 'circuit':
        this.#handlers.circuit(message.server, message.model, message.ms);
        return;
      case 'cooldown':
        this.#handlers.cooldown(message.server, message.model, message.ms);
        return;
      case 'hello':
        this.#replicas.set(message.replica.id, { info: message.replica, lastSeen: this.#clock() });
        return;
    }
  }

  /** Reloads everything: this replica may have missed messages while its channel was down. */
  async resynchronise(): Promise<void> {
    await Promise.all(Object.entries(this.#handlers.reload).map(([topic, reload]) => this.#inOrder(`${topic}:*`, () => reload())));
  }

  /** Live replicas (seen within the last 15 s), this one first. */
  replicas(self: ReplicaInfo): ReplicaView[] {
    const now = this.#clock();
    const others: ReplicaView[] = [];
    for (const [id, entry] of this.#replicas) {
      if (now - entry.lastSeen > replicaExpiryMs) {
        this.#replicas.delete(id);
        continue;
      }
      others.push({ ...entry.info, self: false, lastSeenAt: new Date(entry.lastSeen).toISOString() });
    }
    others.sort((a, b) => a.name.localeCompare(b.name));
    return [{ ...self, self: true, lastSeenAt: new Date(now).toISOString() }, ...others];
  }

  #inOrder(key: string, run: () => Promise<void>): Promise<void> {
    const previous = this.#chains.get(key) ?? Promise.resolve();
    const next = previous.then(run).catch((error: unknown) => this.#onError(`could not catch up with a change (${key})`, error));
    this.#chains.set(key, next);
    void next.finally(() => {
      if (this.#chains.get(key) === next) this.#chains.delete(key);
    });
    return next;
  }
}
