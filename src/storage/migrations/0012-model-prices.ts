import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/** Prices per model, and each usage record's cost in the gateway's currency (docs/decisions/0022). */
export const modelPrices: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('model_prices')
      .addColumn('model', 'text', (column) => column.primaryKey().notNull())
      .addColumn('input_per_million', 'double precision')
      .addColumn('output_per_million', 'double precision')
      .addColumn('per_hour', 'double precision')
      .addColumn('managed_by', 'text', (column) => column.notNull().defaultTo('api'))
      .addColumn('created_at', 'text', (column) => column.notNull())
      .addColumn('updated_at', 'text', (column) => column.notNull())
      .execute();
    await db.schema.alterTable('usage_records').addColumn('cost', 'double precision').execute();
  },
};
