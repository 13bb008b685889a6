import type { Kysely } from 'kysely';
import type { OperationKind, OperationQuery, OperationStatus, OperationTargetView, OperationView } from '../control/operations/operation.ts';
import type { DatabaseSchema, OperationsTable } from './database-schema.ts';
import { readJson, writeJson } from './json-column.ts';

/** Operations as rows: written when they start, as they progress (throttled) and when they end. */
export class OperationStore {
  readonly #db: Kysely<DatabaseSchema>;

  constructor(db: Kysely<DatabaseSchema>) {
    this.#db = db;
  }

  /** `owner` is the replica that runs it (decision 0033). */
  async insert(view: OperationView, owner: string): Promise<void> {
    await this.#db.insertInto('operations').values({ ...toRow(view), owner }).execute();
  }

  async update(view: OperationView): Promise<void> {
    const { id, created_at: _createdAt, ...fields } = toRow(view);
    await this.#db.updateTable('operations').set(fields).where('id', '=', id).execute();
  }

  async get(id: string): Promise<OperationView | null> {
    const row = await this.#db.selectFrom('operations').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? null : fromRow(row);
  }

  async list(query: OperationQuery): Promise<OperationView[]> {
    let select = this.#db.selectFrom('operations').selectAll();
    if (query.status !== undefined) select = select.where('status', '=', query.status);
    if (query.kind !== undefined) select = select.where('kind', '=', query.kind);
    const rows = await select.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(query.limit ?? 50).execute();
    return rows.map(fromRow);
  }

  /** Operations stored as running, with the replica running each (null when written before owners were stored). */
  async running(): Promise<Array<{ view: OperationView; owner: string | null }>> {
    return (await this.#db.selectFrom('operations').selectAll().where('status', '=', 'running').execute()).map((row) => ({ view: fromRow(row), owner: row.owner ?? null }));
  }

  /** The stored operation and the replica running it. */
  async getWithOwner(id: string): Promise<{ view: OperationView; owner: string | null } | null> {
    const row = await this.#db.selectFrom('operations').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? null : { view: fromRow(row), owner: row.owner ?? null };
  }

  /** Deletes operations that ended before `before` (ISO); answers how many. */
  async prune(before: string): Promise<number> {
    const result = await this.#db.deleteFrom('operations').where('status', '!=', 'running').where('created_at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

function toRow(view: OperationView): OperationsTable {
  return {
    id: view.id,
    kind: view.kind,
    status: view.status,
    model: view.model,
    params: writeJson(view.params),
    actor_key_id: view.actor_key_id,
    targets: writeJson(view.servers),
    error: view.error,
    created_at: view.created_at,
    updated_at: view.updated_at,
    finished_at: view.finished_at,
  };
}

function fromRow(row: OperationsTable): OperationView {
  return {
    id: row.id,
    kind: row.kind as OperationKind,
    status: row.status as OperationStatus,
    model: row.model,
    params: readJson<Record<string, unknown>>(row.params, {}),
    actor_key_id: row.actor_key_id,
    created_at: row.created_at,
    updated_at: row.updated_at,
    finished_at: row.finished_at,
    error: row.error,
    servers: readJson<OperationTargetView[]>(row.targets, []),
  };
}
