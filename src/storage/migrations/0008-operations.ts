import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Long-running fleet operations (pulls, deletes, loads, Hub downloads) and
 * each target's progress and result, kept 7 days so they stay visible after
 * the fact (docs/decisions/0018). Targets are one JSON column: they are only
 * ever read and written with their operation.
 */
export const operations: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('operations')
      .addColumn('id', 'text', (column) => column.primaryKey().notNull())
      .addColumn('kind', 'text', (column) => column.notNull())
      .addColumn('status', 'text', (column) => column.notNull())
      .addColumn('model', 'text', (column) => column.notNull())
      .addColumn('params', 'text', (column) => column.notNull())
      .addColumn('actor_key_id', 'text')
      .addColumn('targets', 'text', (column) => column.notNull())
      .addColumn('error', 'text')
      .addColumn('created_at', 'text', (column) => column.notNull())
      .addColumn('updated_at', 'text', (column) => column.notNull())
      .addColumn('finished_at', 'text')
      .execute();
    await db.schema.createIndex('operations_created_at').on('operations').column('created_at').execute();
    await db.schema.createIndex('operations_status').on('operations').column('status').execute();
  },
};
