import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/** The API a request came in on (openai, ollama, anthropic, responses, rest): every older record was OpenAI's. */
export const usageApi: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('usage_records').addColumn('api', 'text', (column) => column.notNull().defaultTo('openai')).execute();
  },
};
