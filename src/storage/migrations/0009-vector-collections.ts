import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * The collection registry: a logical name owned by one model, and where its
 * vectors live in the vector backend (`physical_name`). A re-embed builds a
 * new physical collection (`reembed_target`) and swaps it in, so the row
 * records the progress and the digest the vectors came from.
 */
export const vectorCollections: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('vector_collections')
      .addColumn('name', 'text', (column) => column.primaryKey().notNull())
      .addColumn('model', 'text', (column) => column.notNull())
      .addColumn('vector_size', 'integer', (column) => column.notNull())
      .addColumn('distance', 'text', (column) => column.notNull())
      .addColumn('backend', 'text', (column) => column.notNull())
      .addColumn('physical_name', 'text', (column) => column.notNull().unique())
      .addColumn('status', 'text', (column) => column.notNull())
      .addColumn('model_digest', 'text')
      .addColumn('stale_digest', 'text')
      .addColumn('reembed_target', 'text')
      .addColumn('reembed_done', 'integer')
      .addColumn('reembed_total', 'integer')
      .addColumn('reembed_skipped', 'integer')
      .addColumn('reembed_dropped', 'integer')
      .addColumn('reembed_error', 'text')
      .addColumn('managed_by', 'text', (column) => column.notNull())
      .addColumn('created_at', 'text', (column) => column.notNull())
      .addColumn('updated_at', 'text', (column) => column.notNull())
      .execute();
    await db.schema.createIndex('vector_collections_model').on('vector_collections').column('model').execute();
  },
};
