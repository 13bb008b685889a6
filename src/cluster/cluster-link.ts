import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import { Gauge, Counter, type Registry } from 'prom-client';
import type { DatabaseSchema } from '../storage/database-schema.ts';
import type { ServerRegistry } from '../control/servers/server-registry.ts';
import { Cluster, type ClusterEvent, type ClusterHandlers, type ReplicaInfo, type ReplicaView } from './cluster.ts';
import { PgClusterChannel } from './pg-cluster-channel.ts';

export interface ClusterParts {
  registry: ServerRegistry;
  /** Per topic, how to read it afresh from storage (one id, or all). */
  reload: Record<string, (id?: string) => Promise<void>>;
  /** Another replica opened a deployment's circuit, or its server asked for a pause. */
  circuit: ClusterHandlers['circuit'];
  cooldown: ClusterHandlers['cooldown'];
  /** This replica became, or stopped being, the one that probes the fleet and acts on placements. */
  onCheckerChange: (checker: boolean) => void;
}

export interface ClusterStatus {
  mode: 'single' | 'cluster';
  transport: 'postgres' | null;
  connected: boolean;
  replica: ReplicaInfo;
  replicas: ReplicaView[];
  last_message_at: string | null;
}

const helloEveryMs = 5_000;
const leadEveryMs = 1_000;
// A replica that lost the lock (its session was cut) lets the others try first: the checks move rather than flap back.
const standBackMs = 3 * leadEveryMs;

/**
 * Replicas of one PostgreSQL database and schema acting as one gateway
 * (decision 0033): changes made through any replica reach the others through
 * LISTEN/NOTIFY within milliseconds (each reads storage afresh), one replica
 * at a time holds the health checker's lock and probes the fleet, and circuit
 * openings and Retry-After pauses are shared. On SQLite (one process) this is
 * a single replica that is always the checker.
 */
export class ClusterLink {
  readonly #log: Logger;
  readonly #channel: PgClusterChannel | null;
  readonly #db: Kysely<DatabaseSchema>;
  readonly #info: ReplicaInfo;
  readonly #replicaId = randomUUID();
  #cluster: Cluster | null = null;
  #parts: ClusterParts | null = null;
  #timers: NodeJS.Timeout[] = [];
  #pendingServers = new Map<string, 'changed' | 'checked'>();
  #metrics: { sent: Counter; received: Counter } | null = null;
  #lostCheckerAt = -Infinity;

  constructor(options: { postgres: { url: string; schema: string } | null; db: Kysely<DatabaseSchema>; log: Logger; version: string; metrics: Registry; replicaName?: string }) {
    this.#log = options.log;
    this.#db = options.db;
    this.#info = { id: this.#replicaId, name: options.replicaName ?? `${hostname()}:${process.pid}`, version: options.version, startedAt: new Date().toISOString(), checker: options.postgres === null };
    this.#channel =
      options.postgres === null
        ? null
        : new PgClusterChannel({
            ...options.postgres,
            onMessage: (payload) => this.#cluster?.receive(payload),
            onReconnected: () => {
              this.#log.info('the cluster channel is back: reading every change from storage');
              void this.#cluster?.resynchronise();
            },
            onLeadershipLost: () => this.#setChecker(false),
            onWarning: (message, error) => this.#log.warn({ err: error instanceof Error ? error.message : 'unknown' }, message),
            applicationName: `switchyard cluster ${this.#replicaId}`,
          });
    const registers = [options.metrics];
    const replicas: Gauge = new Gauge({ name: 'switchyard_cluster_replicas', help: 'Replicas of this gateway seen in the last 15 s, this one included.', registers, collect: () => replicas.set(this.status().replicas.length) });
    const checker: Gauge = new Gauge({ name: 'switchyard_cluster_checker', help: '1 while this replica is the one that probes the fleet (holds the health checker lock).', registers, collect: () => checker.set(this.isChecker() ? 1 : 0) });
    const connected: Gauge = new Gauge({ name: 'switchyard_cluster_channel_connected', help: "1 while this replica listens for the others' changes (always 1 on SQLite: there are no others).", registers, collect: () => connected.set(this.#channel === null || this.#channel.connected ? 1 : 0) });
    this.#metrics = {
      sent: new Counter({ name: 'switchyard_cluster_messages_sent_total', help: 'Messages this replica sent the others, by type.', labelNames: ['type'], registers }),
      received: new Counter({ name: 'switchyard_cluster_messages_received_total', help: 'Messages this replica received from the others, by type.', labelNames: ['type'], registers }),
    };
  }

  /** This replica's id (in /api/v1/cluster, and its PostgreSQL session's application_name). */
  get replicaId(): string {
    return this.#replicaId;
  }

  /**
   * The replicas alive now: those whose channel session is open (PostgreSQL
   * ends a killed replica's session at once). Without a cluster, only this one.
   */
  async liveReplicaIds(): Promise<ReadonlySet<string>> {
    if (this.#channel === null) return new Set([this.#replicaId]);
    const prefix = 'switchyard cluster ';
    const { rows } = await sql<{ name: string }>`select application_name as name from pg_stat_activity where application_name like ${`${prefix}%`}`.execute(this.#db);
    return new Set([this.#replicaId, ...rows.map((row) => row.name.slice(prefix.length))]);
  }

  /** True when this replica probes the fleet and acts on placements (always, without a cluster). */
  isChecker(): boolean {
    return this.#channel === null || this.#channel.isLeader;
  }

  /** Wires the parts in; call before start. */
  attach(parts: ClusterParts): void {
    this.#parts = parts;
    if (this.#channel === null) return;
    const channel = this.#channel;
    const metrics = this.#metrics as { sent: Counter; received: Counter };
    this.#cluster = new Cluster({
      replicaId: this.#replicaId,
      transport: {
        publish: async (payload) => {
          await sql`select pg_notify(${channel.channel}, ${payload})`.execute(this.#db);
        },
        get connected() {
          return channel.connected;
        },
      },
      handlers: {
        reload: { servers: (id) => (id === undefined ? parts.registry.refreshAll() : parts.registry.refresh(id)), ...parts.reload },
        checked: (server, load) => parts.registry.refresh(server, load),
        circuit: parts.circuit,
        cooldown: parts.cooldown,
      },
      counters: { sent: (type) => metrics.sent.inc({ type }), received: (type) => metrics.received.inc({ type }) },
      onError: (what, error) => this.#log.warn({ err: error instanceof Error ? error.message : 'unknown' }, what),
    });
    // Our own server changes and probes, told once per server per tick (a probe emits several events).
    parts.registry.onEvent((event) => {
      if (event.remote === true || event.type === 'model.held') return;
      const id = event.server.id;
      if (this.#pendingServers.size === 0) queueMicrotask(() => this.#flushServers());
      if (event.type === 'server.checked') this.#pendingServers.set(id, 'checked');
      else if (!this.#pendingServers.has(id)) this.#pendingServers.set(id, 'changed');
    });
  }

  async start(): Promise<void> {
    if (this.#channel === null || this.#cluster === null) return;
    await this.#channel.start();
    await this.#lead();
    this.#hello();
    this.#timers.push(setInterval(() => void this.#lead(), leadEveryMs), setInterval(() => this.#hello(), helloEveryMs));
    for (const timer of this.#timers) timer.unref();
  }

  /** Another replica should read `topic` (or one `id` of it) afresh. */
  announce(topic: string, id?: string): void {
    this.#cluster?.announce(topic, id);
  }

  /** Shares a deployment's circuit opening or Retry-After pause with the other replicas. */
  share(type: 'circuit' | 'cooldown', server: string, model: string, ms: number): void {
    if (ms > 0) this.#cluster?.send({ type, server, model, ms });
  }

  status(): ClusterStatus {
    const replica = { ...this.#info, checker: this.isChecker() };
    return {
      mode: this.#channel === null ? 'single' : 'cluster',
      transport: this.#channel === null ? null : 'postgres',
      connected: this.#channel === null || this.#channel.connected,
      replica,
      replicas: this.#cluster === null ? [{ ...replica, self: true, lastSeenAt: new Date().toISOString() }] : this.#cluster.replicas(replica),
      last_message_at: this.#cluster?.lastMessageAt == null ? null : new Date(this.#cluster.lastMessageAt).toISOString(),
    };
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    await this.#channel?.close();
  }

  #flushServers(): void {
    const pending = this.#pendingServers;
    this.#pendingServers = new Map();
    for (const [server, kind] of pending) {
      if (kind === 'checked') this.#cluster?.send({ type: 'checked', server, load: this.#parts?.registry.loadOf(server) ?? null } satisfies ClusterEvent);
      else this.#cluster?.announce('servers', server);
    }
  }

  async #lead(): Promise<void> {
    if (this.#channel === null || this.#channel.isLeader) return;
    if (Date.now() - this.#lostCheckerAt < standBackMs) return;
    if (await this.#channel.tryLead()) this.#setChecker(true);
  }

  #setChecker(checker: boolean): void {
    if (!checker) this.#lostCheckerAt = Date.now();
    this.#log.info({ replica: this.#info.name }, checker ? 'this replica now probes the fleet and acts on placements (it holds the health checker lock)' : 'this replica no longer probes the fleet (it lost the health checker lock)');
    this.#parts?.onCheckerChange(checker);
    this.#hello();
  }

  #hello(): void {
    this.#cluster?.send({ type: 'hello', replica: { ...this.#info, checker: this.isChecker() } });
  }
}
