import type { Kysely } from 'kysely';
import type { AuditEntry } from '../domain/audit.ts';
import { withAudit } from './audit-store.ts';
import type { ApiKeysTable, DatabaseSchema } from './database-schema.ts';

/** Switchyard's own API keys; only keyed hashes are stored. Lookups are parameterised by Kysely. */
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

  async listAll(): Promise<ApiKeysTable[]> {
    return this.#db.selectFrom('api_keys').selectAll().orderBy('created_at').execute();
  }

  /** Every key's name by id, revoked ones included (their usage history still needs a name). */
  async names(): Promise<Map<string, string>> {
    const rows = await this.#db.selectFrom('api_keys').select(['id', 'name']).execute();
    return new Map(rows.map((row) => [row.id, row.name]));
  }

  async get(id: string): Promise<ApiKeysTable | undefined> {
    return this.#db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insert(row: ApiKeysTable, audit?: AuditEntry): Promise<void> {
    await withAudit(this.#db, audit, (executor) => executor.insertInto('api_keys').values(row).execute());
  }

  async update(row: ApiKeysTable, audit?: AuditEntry): Promise<void> {
    const { id, created_at: _createdAt, used_tokens: _used, used_cost: _spent, last_used_at: _lastUsed, ...fields } = row;
    await withAudit(this.#db, audit, (executor) => executor.updateTable('api_keys').set(fields).where('id', '=', id).execute());
  }

  /** Adds what a key spent (in the gateway's currency); deltas from every replica add up. */
  async recordCost(id: string, cost: number): Promise<void> {
    await this.#db
      .updateTable('api_keys')
      .set((eb) => ({ used_cost: eb('used_cost', '+', cost) }))
      .where('id', '=', id)
      .execute();
  }

  /** Adds settled token usage (deltas from every replica add up) and the last-use time. */
  async recordUsage(id: string, tokens: number, lastUsedAt: string): Promise<void> {
    await this.#db
      .updateTable('api_keys')
      .set((eb) => ({ used_tokens: eb('used_tokens', '+', tokens), last_used_at: lastUsedAt }))
      .where('id', '=', id)
      .execute();
  }
}
