import type { Kysely } from 'kysely';
import type { ApiKeysTable, DatabaseSchema } from './database-schema.ts';

/** Switchyard's own API keys; only hashes are stored. */
export class ApiKeyStore {
  readonly #db: Kysely<DatabaseSchema>;

  constructor(db: Kysely<DatabaseSchema>) {
    this.#db = db;
  }

  async listActive(now: string): Promise<ApiKeysTable[]> {
    return this.#db
      .selectFrom('api_keys')
      .selectAll()
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .execute();
  }

  async insert(row: ApiKeysTable): Promise<void> {
    await this.#db.insertInto('api_keys').values(row).execute();
  }
}
