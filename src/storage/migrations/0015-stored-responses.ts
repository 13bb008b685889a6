import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/** Responses API answers kept for `previous_response_id`, per key, until they expire (docs/decisions/0025). */
export const storedResponses: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('stored_responses')
      .addColumn('id', 'text', (column) => column.primaryKey().notNull())
      .addColumn('key_id', 'text')
      .addColumn('created_at', 'text', (column) => column.notNull())
      .addColumn('expires_at', 'text', (column) => column.notNull())
      .addColumn('body', 'text', (column) => column.notNull())
      .execute();
    await db.schema.createIndex('stored_responses_expires_at').on('stored_responses').column('expires_at').execute();
  },
};
