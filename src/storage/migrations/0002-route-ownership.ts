import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/** Routes, like servers, remember who made them: the fleet file removes only its own. */
export const routeOwnership: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('routes').addColumn('managed_by', 'text', (column) => column.notNull().defaultTo('api')).execute();
  },
};
