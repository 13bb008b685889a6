import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * Which replica runs an operation (its cluster id), so a replica that starts
 * or checks for orphans fails only operations whose replica is gone, not those
 * another live replica is running (decision 0033). Older rows have none. Additive.
 */
export const operationOwner: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('operations').addColumn('owner', 'text').execute();
  },
};
