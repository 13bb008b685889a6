import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/** Response cache policies, one per model or route name (docs/decisions/0013). */
export const cachePolicies: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('cache_policies')
      .addColumn('name', 'text', (column) => column.primaryKey().notNull())
      .addColumn('mode', 'text', (column) => column.notNull())
      .addColumn('ttl_s', 'integer', (column) => column.notNull())
      .addColumn('scope', 'text', (column) => column.notNull())
      // double precision on both dialects: PostgreSQL's `real` would read 0.95 back as 0.949999988.
      .addColumn('similarity', 'double precision', (column) => column.notNull())
      .addColumn('embedding_model', 'text')
      .addColumn('managed_by', 'text', (column) => column.notNull().defaultTo('api'))
      .addColumn('created_at', 'text', (column) => column.notNull())
      .addColumn('updated_at', 'text', (column) => column.notNull())
      .execute();
  },
};
