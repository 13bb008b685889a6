import type { Kysely } from 'kysely';
import type { UsageRow } from '../control/analytics/usage-statistics.ts';
import type { DatabaseSchema } from './database-schema.ts';

// Analytics read at most this many rows per query; the answer says when it was cut.
export const usageRowLimit = 500_000;

/** Reads usage records for analytics. */
export class UsageStore {
  readonly #db: Kysely<DatabaseSchema>;

  constructor(db: Kysely<DatabaseSchema>) {
    this.#db = db;
  }

  async between(from: string, to: string, model?: string): Promise<UsageRow[]> {
    let query = this.#db
      .selectFrom('usage_records')
      .select(['occurred_at', 'key_id', 'served_model', 'requested_model', 'server_id', 'status', 'error_type', 'prompt_tokens', 'completion_tokens', 'latency_ms', 'ttft_ms', 'cache_hit', 'cost', 'api', 'queue_wait_ms'])
      .where('occurred_at', '>=', from)
      .where('occurred_at', '<', to);
    if (model !== undefined) query = query.where('served_model', '=', model);
    return query.orderBy('occurred_at').limit(usageRowLimit).execute();
  }
}
