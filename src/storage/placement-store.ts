import type { Kysely } from 'kysely';
import type { AuditEntry } from '../domain/audit.ts';
import type { ManagedBy } from '../domain/model-server.ts';
import type { ActiveHours, Placement } from '../domain/placement.ts';
import { withAudit } from './audit-store.ts';
import type { DatabaseSchema, PlacementsTable } from './database-schema.ts';
import { readJson, writeJson } from './json-column.ts';

export class PlacementStore {
  readonly #db: Kysely<DatabaseSchema>;

  constructor(db: Kysely<DatabaseSchema>) {
    this.#db = db;
  }

  async list(): Promise<Placement[]> {
    return (await this.#db.selectFrom('placements').selectAll().orderBy('model').execute()).map(fromRow);
  }

  async save(placement: Placement, isNew: boolean, audit?: AuditEntry): Promise<void> {
    const row = toRow(placement);
    await withAudit(this.#db, audit, async (executor) => {
      if (isNew) await executor.insertInto('placements').values(row).execute();
      else {
        const { model, created_at: _createdAt, ...fields } = row;
        await executor.updateTable('placements').set(fields).where('model', '=', model).execute();
      }
    });
  }

  async delete(model: string, audit?: AuditEntry): Promise<void> {
    await withAudit(this.#db, audit, (executor) => executor.deleteFrom('placements').where('model', '=', model).execute());
  }
}

function toRow(placement: Placement): PlacementsTable {
  return {
    model: placement.model,
    pulled_on: placement.pulledOn,
    servers: placement.servers === null ? null : writeJson(placement.servers),
    warm_on: placement.warmOn,
    // A keep_alive of seconds is stored as JSON so it reads back a number.
    keep_alive: placement.keepAlive === null ? null : writeJson(placement.keepAlive),
    active_hours: placement.activeHours === null ? null : writeJson(placement.activeHours),
    managed_by: placement.managedBy,
    created_at: placement.createdAt,
    updated_at: placement.updatedAt,
  };
}

function fromRow(row: PlacementsTable): Placement {
  return {
    model: row.model,
    pulledOn: row.pulled_on === null ? null : Number(row.pulled_on),
    servers: readJson<string[] | null>(row.servers, null),
    warmOn: Number(row.warm_on),
    keepAlive: readJson<string | number | null>(row.keep_alive, null),
    activeHours: readJson<ActiveHours | null>(row.active_hours, null),
    managedBy: row.managed_by as ManagedBy,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
