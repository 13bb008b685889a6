import type { Kysely } from 'kysely';
import type { AuditEntry } from '../domain/audit.ts';
import { withAudit } from './audit-store.ts';
import type { CollectionStatus, VectorCollection } from '../collections/vector-collection.ts';
import type { ManagedBy } from '../domain/model-server.ts';
import type { VectorDistance } from '../vectors/vector-store.ts';
import type { DatabaseSchema, VectorCollectionsTable } from './database-schema.ts';

/** The collection registry's rows (migration 0009). */
export class CollectionStore {
  readonly #db: Kysely<DatabaseSchema>;

  constructor(db: Kysely<DatabaseSchema>) {
    this.#db = db;
  }

  async list(): Promise<VectorCollection[]> {
    return (await this.#db.selectFrom('vector_collections').selectAll().orderBy('name').execute()).map(fromRow);
  }

  async insert(collection: VectorCollection, audit?: AuditEntry): Promise<void> {
    await withAudit(this.#db, audit, (executor) => executor.insertInto('vector_collections').values(toRow(collection)).execute());
  }

  async update(collection: VectorCollection, audit?: AuditEntry): Promise<void> {
    const { name, created_at: _createdAt, ...fields } = toRow(collection);
    await withAudit(this.#db, audit, (executor) => executor.updateTable('vector_collections').set(fields).where('name', '=', name).execute());
  }

  async delete(name: string, audit?: AuditEntry): Promise<void> {
    await withAudit(this.#db, audit, (executor) => executor.deleteFrom('vector_collections').where('name', '=', name).execute());
  }
}

function toRow(collection: VectorCollection): VectorCollectionsTable {
  return {
    name: collection.name,
    model: collection.model,
    vector_size: collection.vectorSize,
    distance: collection.distance,
    backend: collection.backend,
    physical_name: collection.physicalName,
    status: collection.status,
    model_digest: collection.modelDigest,
    stale_digest: collection.staleDigest,
    reembed_target: collection.reembedTarget,
    reembed_done: collection.reembed?.done ?? null,
    reembed_total: collection.reembed?.total ?? null,
    reembed_skipped: collection.reembed?.skipped ?? null,
    reembed_dropped: collection.reembed?.dropped ?? null,
    reembed_error: collection.reembed?.error ?? null,
    managed_by: collection.managedBy,
    created_at: collection.createdAt,
    updated_at: collection.updatedAt,
  };
}

function fromRow(row: VectorCollectionsTable): VectorCollection {
  const hasProgress = row.reembed_total !== null;
  return {
    name: row.name,
    model: row.model,
    // PostgreSQL answers integers as they are; counts may come back as strings from some drivers.
    vectorSize: Number(row.vector_size),
    distance: row.distance as VectorDistance,
    backend: row.backend,
    physicalName: row.physical_name,
    status: row.status as CollectionStatus,
    modelDigest: row.model_digest,
    staleDigest: row.stale_digest,
    reembedTarget: row.reembed_target,
    reembed: hasProgress
      ? { done: Number(row.reembed_done ?? 0), total: Number(row.reembed_total), skipped: Number(row.reembed_skipped ?? 0), dropped: Number(row.reembed_dropped ?? 0), error: row.reembed_error }
      : null,
    managedBy: row.managed_by as ManagedBy,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
