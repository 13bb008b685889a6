import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/** A key's priority class in the admission queues (interactive, standard, batch); every older key is standard. Additive. */
export const keyPriority: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('api_keys').addColumn('priority', 'text', (column) => column.notNull().defaultTo('standard')).execute();
  },
};
