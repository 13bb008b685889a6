import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/** Placements: how many servers hold a model and keep it warm (docs/decisions/0019). */
export const placements: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('placements')
      .addColumn('model', 'text', (column) => column.primaryKey().notNull())
      .addColumn('pulled_on', 'integer')
      .addColumn('servers', 'text')
      .addColumn('warm_on', 'integer', (column) => column.notNull())
      .addColumn('keep_alive', 'text')
      .addColumn('active_hours', 'text')
      .addColumn('managed_by', 'text', (column) => column.notNull().defaultTo('api'))
      .addColumn('created_at', 'text', (column) => column.notNull())
      .addColumn('updated_at', 'text', (column) => column.notNull())
      .execute();
  },
};
