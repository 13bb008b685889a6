import type { Kysely } from 'kysely';
import type { RoutingStrategy } from '../config/config-schema.ts';
import type { AuditEntry } from '../domain/audit.ts';
import type { ManagedBy } from '../domain/model-server.ts';
import { withAudit } from './audit-store.ts';
import type { Route, RouteTarget } from '../domain/route.ts';
import type { DatabaseSchema, RoutesTable } from './database-schema.ts';
import { readJson, writeJson } from './json-column.ts';

/** Routes (aliases with targets and fallbacks). */
export class RouteStore {
  readonly #db: Kysely<DatabaseSchema>;

  constructor(db: Kysely<DatabaseSchema>) {
    this.#db = db;
  }

  async list(): Promise<Route[]> {
    return (await this.#db.selectFrom('routes').selectAll().orderBy('name').execute()).map(fromRow);
  }

  async insert(route: Route, audit?: AuditEntry): Promise<void> {
    await withAudit(this.#db, audit, (executor) => executor.insertInto('routes').values(toRow(route)).execute());
  }

  async update(route: Route, audit?: AuditEntry): Promise<void> {
    const { id, created_at: _createdAt, ...fields } = toRow(route);
    await withAudit(this.#db, audit, (executor) => executor.updateTable('routes').set(fields).where('id', '=', id).execute());
  }

  async delete(id: string, audit?: AuditEntry): Promise<void> {
    await withAudit(this.#db, audit, (executor) => executor.deleteFrom('routes').where('id', '=', id).execute());
  }
}

function toRow(route: Route): RoutesTable {
  return {
    id: route.id,
    name: route.name,
    strategy: route.strategy ?? 'default',
    targets: writeJson(route.targets),
    fallbacks: writeJson(route.fallbacks),
    metadata: writeJson(route.metadata),
    managed_by: route.managedBy,
    created_at: route.createdAt,
    updated_at: route.updatedAt,
  };
}

function fromRow(row: RoutesTable): Route {
  return {
    id: row.id,
    name: row.name,
    strategy: row.strategy === 'default' ? null : (row.strategy as RoutingStrategy),
    targets: readJson<RouteTarget[]>(row.targets, []),
    fallbacks: readJson<string[]>(row.fallbacks, []),
    metadata: readJson<Record<string, unknown>>(row.metadata, {}),
    managedBy: row.managed_by as ManagedBy,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
