import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/** How long a request waited in the gateway's admission queue for capacity (ms); every older record waited none. Additive. */
export const usageQueueWait: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('usage_records').addColumn('queue_wait_ms', 'real', (column) => column.notNull().defaultTo(0)).execute();
  },
};
