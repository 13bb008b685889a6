import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/** Results of benchmarks run on demand, shown in the model registry. */
export const modelBenchmarks: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('model_benchmarks')
      .addColumn('id', 'text', (column) => column.primaryKey().notNull())
      .addColumn('model', 'text', (column) => column.notNull())
      .addColumn('created_at', 'text', (column) => column.notNull())
      .addColumn('options', 'text', (column) => column.notNull())
      .addColumn('summary', 'text', (column) => column.notNull())
      .addColumn('runs', 'text', (column) => column.notNull())
      .execute();
    await db.schema.createIndex('model_benchmarks_model_time').on('model_benchmarks').columns(['model', 'created_at']).execute();
  },
};
