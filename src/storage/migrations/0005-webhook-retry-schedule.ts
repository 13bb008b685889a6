import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * When a delivery waiting for a retry is next due, so pending retries survive
 * a restart: the dispatcher reloads unfinished deliveries on start.
 */
export const webhookRetrySchedule: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('webhook_deliveries').addColumn('next_attempt_at', 'text').execute();
    await db.schema.createIndex('webhook_deliveries_status').on('webhook_deliveries').columns(['status', 'created_at']).execute();
  },
};
