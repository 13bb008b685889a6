import type { Kysely } from 'kysely';
import type { AuditEntry } from '../domain/audit.ts';
import type { CacheMode, CachePolicy, CacheScope } from '../domain/cache-policy.ts';
import type { ManagedBy } from '../domain/model-server.ts';
import { withAudit } from './audit-store.ts';
import type { CachePoliciesTable, DatabaseSchema } from './database-schema.ts';

/** Response cache policies, keyed by the model or route name they apply to. */
export class CachePolicyStore {
  readonly #db: Kysely<DatabaseSchema>;

  constructor(db: Kysely<DatabaseSchema>) {
    this.#db = db;
  }

  async list(): Promise<CachePolicy[]> {
    return (await this.#db.selectFrom('cache_policies').selectAll().orderBy('name').execute()).map(fromRow);
  }

  /** Insert or replace (a PUT), in one transaction with its audit entry. */
  async save(policy: CachePolicy, isNew: boolean, audit?: AuditEntry): Promise<void> {
    const row = toRow(policy);
    await withAudit(this.#db, audit, async (executor) => {
      if (isNew) await executor.insertInto('cache_policies').values(row).execute();
      else {
        const { name, created_at: _createdAt, ...fields } = row;
        await executor.updateTable('cache_policies').set(fields).where('name', '=', name).execute();
      }
    });
  }

  async delete(name: string, audit?: AuditEntry): Promise<void> {
    await withAudit(this.#db, audit, (executor) => executor.deleteFrom('cache_policies').where('name', '=', name).execute());
  }
}

function toRow(policy: CachePolicy): CachePoliciesTable {
  return {
    name: policy.name,
    mode: policy.mode,
    ttl_s: policy.ttlS,
    scope: policy.scope,
    similarity: policy.similarity,
    embedding_model: policy.embeddingModel,
    managed_by: policy.managedBy,
    created_at: policy.createdAt,
    updated_at: policy.updatedAt,
  };
}

function fromRow(row: CachePoliciesTable): CachePolicy {
  return {
    name: row.name,
    mode: row.mode as CacheMode,
    ttlS: Number(row.ttl_s),
    scope: row.scope as CacheScope,
    similarity: Number(row.similarity),
    embeddingModel: row.embedding_model,
    managedBy: row.managed_by as ManagedBy,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
