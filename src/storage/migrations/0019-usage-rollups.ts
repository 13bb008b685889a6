import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import { histogramColumns } from '../rollups/usage-rollups.ts';

const counts = ['requests', 'successes', 'server_errors', 'prompt_tokens', 'completion_tokens', 'success_completion_tokens', 'cache_hits', 'costed', 'queued', ...histogramColumns];
const sums = ['generation_ms', 'cost'];

/**
 * Usage rollups per minute and per hour, per dimension value (decision 0029):
 * what analytics read instead of raw records at volume. Records stored before
 * this migration, and any a release before it writes during a rolling
 * upgrade, have `rolled_up = 0` and are added by a background backfill
 * (UsageMaintenance); the usage recorder writes 1 with the rollup in one
 * transaction. Additive.
 */
export const usageRollups: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    let table = db.schema
      .createTable('usage_rollups')
      .addColumn('dimension', 'text', (column) => column.notNull())
      .addColumn('period', 'text', (column) => column.notNull())
      .addColumn('bucket', 'text', (column) => column.notNull())
      .addColumn('value', 'text', (column) => column.notNull());
    // 4-byte counts: a row is one minute or hour of one value, far below 2^31 requests.
    for (const name of counts) table = table.addColumn(name, 'integer', (column) => column.notNull().defaultTo(0));
    for (const name of sums) table = table.addColumn(name, 'double precision', (column) => column.notNull().defaultTo(0));
    await table.addPrimaryKeyConstraint('usage_rollups_pk', ['dimension', 'period', 'bucket', 'value']).execute();
    // Retention deletes by age.
    await db.schema.createIndex('usage_rollups_age').on('usage_rollups').columns(['period', 'bucket']).execute();
    await db.schema.alterTable('usage_records').addColumn('rolled_up', 'integer', (column) => column.notNull().defaultTo(0)).execute();
    // Only the rows still to backfill are in it: the backfill finds them without a scan.
    await db.schema.createIndex('usage_records_not_rolled_up').on('usage_records').column('id').where(sql.ref('rolled_up'), '=', 0).execute();
  },
};
