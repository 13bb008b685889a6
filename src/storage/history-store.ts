import type { Kysely } from 'kysely';
import type { DatabaseSchema, HealthChecksTable, ModelEventsTable, ServerMetricsTable } from './database-schema.ts';

/** Health history, load samples and model events: read for the API, pruned by age. */
export class HistoryStore {
  readonly #db: Kysely<DatabaseSchema>;

  constructor(db: Kysely<DatabaseSchema>) {
    this.#db = db;
  }

  async recentChecks(serverId: string, limit: number): Promise<HealthChecksTable[]> {
    return this.#db
      .selectFrom('health_checks')
      .selectAll()
      .where('server_id', '=', serverId)
      .orderBy('checked_at', 'desc')
      .limit(limit)
      .execute();
  }

  /** Checks after which the status changed. */
  async recentTransitions(serverId: string, limit: number): Promise<HealthChecksTable[]> {
    return this.#db
      .selectFrom('health_checks')
      .selectAll()
      .where('server_id', '=', serverId)
      .where((eb) => eb('health_status', '!=', eb.ref('previous_status')))
      .orderBy('checked_at', 'desc')
      .limit(limit)
      .execute();
  }

  async recentMetrics(serverId: string, limit: number): Promise<ServerMetricsTable[]> {
    return this.#db
      .selectFrom('server_metrics')
      .selectAll()
      .where('server_id', '=', serverId)
      .orderBy('recorded_at', 'desc')
      .limit(limit)
      .execute();
  }

  async recentModelEvents(serverId: string, limit: number): Promise<ModelEventsTable[]> {
    return this.#db
      .selectFrom('model_events')
      .selectAll()
      .where('server_id', '=', serverId)
      .orderBy('occurred_at', 'desc')
      .limit(limit)
      .execute();
  }

  /** Deletes history older than `before` (ISO time); returns rows removed. */
  async prune(before: string): Promise<number> {
    const checks = await this.#db.deleteFrom('health_checks').where('checked_at', '<', before).executeTakeFirst();
    const metrics = await this.#db.deleteFrom('server_metrics').where('recorded_at', '<', before).executeTakeFirst();
    return Number(checks.numDeletedRows) + Number(metrics.numDeletedRows);
  }
}
