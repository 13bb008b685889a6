import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/** Key budgets in currency as well as tokens (docs/decisions/0022): the budget and what the key has spent. */
export const keyCostBudgets: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('api_keys').addColumn('budget_cost', 'double precision').execute();
    await db.schema.alterTable('api_keys').addColumn('used_cost', 'double precision', (column) => column.notNull().defaultTo(0)).execute();
  },
};
