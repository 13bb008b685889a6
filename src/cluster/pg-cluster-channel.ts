import { createHash } from 'node:crypto';
import pg from 'pg';

export interface ChannelOptions {
  url: string;
  /** Replicas meet per database and schema: tests (a schema each) and other installs on the server stay apart. */
  schema: string;
  onMessage: (payload: string) => void;
  /** The session came back after a loss: messages sent meanwhile were missed. */
  onReconnected: () => void;
  /** The health checker's lock was lost with the session. */
  onLeadershipLost: () => void;
  onWarning: (message: string, error: unknown) => void;
  /** Shown in pg_stat_activity, so an operator (or a test) can tell which replica a session is. */
  applicationName?: string;
  /** Backoff between reconnection attempts. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

/**
 * This replica's own PostgreSQL session (outside the pool, whose connections
 * come and go): it LISTENs on the schema's channel, and holds the health
 * checker's session advisory lock while this replica is the checker. Ending
 * the session (a crash, kill -9, a lost connection) frees the lock at once, so
 * another replica takes the checks over; and a replica that lost its session
 * knows it is no longer the checker.
 */
export class PgClusterChannel {
  readonly #options: ChannelOptions;
  readonly channel: string;
  readonly #leaseKey: string;
  #client: pg.Client | null = null;
  #leader = false;
  #closed = false;
  #everConnected = false;
  #retryMs: number;
  #retryTimer: NodeJS.Timeout | null = null;

  constructor(options: ChannelOptions) {
    this.#options = options;
    // A LISTEN channel is an identifier (63 bytes at most); the schema may be longer or any case.
    this.channel = `switchyard_${createHash('sha256').update(options.schema).digest('hex').slice(0, 24)}`;
    this.#leaseKey = `switchyard.health-checker.${options.schema}`;
    this.#retryMs = options.retryMinMs ?? 250;
  }

  get connected(): boolean {
    return this.#client !== null;
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  /** Connects (or, when PostgreSQL does not answer, keeps trying in the background). */
  async start(): Promise<void> {
    await this.#connect();
  }

  /**
   * Tries for the health checker's lock; true while this replica holds it.
   * Non-blocking: the holder keeps it until its session ends.
   */
  async tryLead(): Promise<boolean> {
    const client = this.#client;
    if (client === null || this.#closed) return false;
    if (this.#leader) return true;
    try {
      const result = await client.query<{ locked: boolean }>('select pg_try_advisory_lock(hashtext($1)) as locked', [this.#leaseKey]);
      this.#leader = this.#client === client && result.rows[0]?.locked === true;
    } catch (error) {
      this.#options.onWarning('could not ask for the health checker lock', error);
    }
    return this.#leader;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    const client = this.#client;
    this.#client = null;
    this.#leader = false;
    // Ending the session releases the lock and the LISTEN.
    if (client !== null) await client.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client({ connectionString: this.#options.url, connectionTimeoutMillis: 5_000, keepAlive: true, ...(this.#options.applicationName === undefined ? {} : { application_name: this.#options.applicationName }) });
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, new Error('the connection ended')));
    client.on('notification', (message) => {
      if (message.channel === this.channel && message.payload !== undefined) this.#options.onMessage(message.payload);
    });
    try {
      await client.connect();
      await client.query(`listen ${this.channel}`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      this.#options.onWarning('the cluster channel could not connect; retrying', error);
      this.#scheduleRetry();
      return;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.#retryMs = this.#options.retryMinMs ?? 250;
    if (this.#everConnected) this.#options.onReconnected();
    this.#everConnected = true;
  }

  #lost(client: pg.Client, error: unknown): void {
    if (this.#client !== client) return;
    this.#client = null;
    client.end().catch(() => undefined);
    if (this.#closed) return;
    this.#options.onWarning('the cluster channel lost its connection; reconnecting', error);
    if (this.#leader) {
      this.#leader = false;
      this.#options.onLeadershipLost();
    }
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#closed || this.#retryTimer !== null) return;
    const delay = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, this.#options.retryMaxMs ?? 5_000);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      void this.#connect();
    }, delay);
    this.#retryTimer.unref();
  }
}
