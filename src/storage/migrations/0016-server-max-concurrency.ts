import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/** A server's stated capacity (requests it generates at once); null: learned from what the server reports. Additive. */
export const serverMaxConcurrency: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('model_servers').addColumn('max_concurrency', 'integer').execute();
  },
};
