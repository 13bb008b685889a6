import type { Kysely, Transaction } from 'kysely';
import type { AuditEntry } from '../domain/audit.ts';
import type { ServerModel } from '../domain/model-server.ts';
import { insertAudit, withAudit } from './audit-store.ts';
import { GroupCommit } from './group-commit.ts';
import type { DatabaseSchema, HealthChecksTable, ModelEventsTable, ServerMetricsTable } from './database-schema.ts';
import { modelFromRow, modelToRow, serverFromRow, serverToRow, type StoredServer } from './server-rows.ts';

type Executor = Kysely<DatabaseSchema> | Transaction<DatabaseSchema>;

/** Everything one health check changes, written in one transaction. */
export interface CheckWrite {
  server: StoredServer;
  check: HealthChecksTable;
  upsertModels: ServerModel[];
  removedModelIds: string[];
  modelEvents: ModelEventsTable[];
  metrics: ServerMetricsTable | null;
}

/** Servers and the models on them. */
export class ServerStore {
  readonly #db: Kysely<DatabaseSchema>;
  readonly #checks: GroupCommit<CheckWrite>;

  /** `checkWindowMs`: how long a health check's write may wait to share a commit with others (0: commit alone). */
  constructor(db: Kysely<DatabaseSchema>, options: { checkWindowMs?: number } = {}) {
    this.#db = db;
    this.#checks = new GroupCommit((writes) => this.#recordChecks(writes), { windowMs: options.checkWindowMs ?? 100, maxBatch: 64 });
  }

  async listServers(): Promise<StoredServer[]> {
    const rows = await this.#db.selectFrom('model_servers').selectAll().orderBy('created_at').orderBy('name').execute();
    return rows.map(serverFromRow);
  }

  async getServer(id: string): Promise<StoredServer | undefined> {
    const row = await this.#db.selectFrom('model_servers').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : serverFromRow(row);
  }

  async insertServer(server: StoredServer, audit?: AuditEntry): Promise<void> {
    await withAudit(this.#db, audit, (executor) => executor.insertInto('model_servers').values(serverToRow(server)).execute());
  }

  /** Writes the operator's settings (and, when given, a reset status); never clobbers a check's columns otherwise. */
  async updateServerSettings(server: StoredServer, includeStatus: boolean, audit?: AuditEntry): Promise<void> {
    const row = serverToRow(server);
    const settings = pick(row, settingsColumns);
    await withAudit(this.#db, audit, (executor) =>
      executor
        .updateTable('model_servers')
        .set(includeStatus ? { ...settings, ...pick(row, statusColumns) } : settings)
        .where('id', '=', row.id)
        .execute(),
    );
  }

  /** Writes what health checks own: status, capabilities and the last check. */
  async updateServerStatus(server: StoredServer, executor: Executor = this.#db): Promise<void> {
    const row = serverToRow(server);
    await executor.updateTable('model_servers').set(pick(row, statusColumns)).where('id', '=', row.id).execute();
  }

  /** Removes a server with its models, history and metrics in one transaction. */
  async deleteServer(id: string, audit?: AuditEntry): Promise<boolean> {
    return this.#db.transaction().execute(async (transaction) => {
      if (audit !== undefined) await insertAudit(transaction, audit);
      await transaction.deleteFrom('server_models').where('server_id', '=', id).execute();
      await transaction.deleteFrom('model_events').where('server_id', '=', id).execute();
      await transaction.deleteFrom('health_checks').where('server_id', '=', id).execute();
      await transaction.deleteFrom('server_metrics').where('server_id', '=', id).execute();
      const result = await transaction.deleteFrom('model_servers').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }

  async listModels(): Promise<ServerModel[]> {
    const rows = await this.#db.selectFrom('server_models').selectAll().orderBy('server_id').orderBy('model_id').execute();
    return rows.map(modelFromRow);
  }

  async listModelsOf(serverId: string): Promise<ServerModel[]> {
    const rows = await this.#db.selectFrom('server_models').selectAll().where('server_id', '=', serverId).orderBy('model_id').execute();
    return rows.map(modelFromRow);
  }

  /** A check's outcome: server status, model changes with their events, load sample; all or nothing. */
  recordCheck(write: CheckWrite): Promise<void> {
    return this.#checks.add(write);
  }

  async #recordChecks(writes: CheckWrite[]): Promise<void> {
    await this.#db.transaction().execute(async (transaction) => {
      for (const write of writes) await this.#writeCheck(transaction, write);
    });
  }

  async #writeCheck(transaction: Transaction<DatabaseSchema>, write: CheckWrite): Promise<void> {
    await this.updateServerStatus(write.server, transaction);
    await transaction.insertInto('health_checks').values(write.check).execute();
    // Batched: a server with hundreds of models costs a few statements, not one per model.
    for (const modelIds of chunks(write.removedModelIds)) {
      await transaction.deleteFrom('server_models').where('server_id', '=', write.server.id).where('model_id', 'in', modelIds).execute();
    }
    for (const models of chunks(write.upsertModels)) {
      await transaction
        .insertInto('server_models')
        .values(models.map(modelToRow))
        .onConflict((conflict) =>
          conflict.columns(['server_id', 'model_id']).doUpdateSet((update) => ({
            capabilities: update.ref('excluded.capabilities'),
            embedding_dimension: update.ref('excluded.embedding_dimension'),
            context_length: update.ref('excluded.context_length'),
            status: update.ref('excluded.status'),
            details: update.ref('excluded.details'),
            last_seen_at: update.ref('excluded.last_seen_at'),
          })),
        )
        .execute();
    }
    for (const events of chunks(write.modelEvents)) await transaction.insertInto('model_events').values(events).execute();
    if (write.metrics !== null) await transaction.insertInto('server_metrics').values(write.metrics).execute();
  }
}

// Rows per statement: well inside SQLite's and PostgreSQL's limits on bound parameters (9 columns a row).
const batchRows = 500;

function chunks<T>(items: readonly T[]): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += batchRows) result.push(items.slice(start, start + batchRows));
  return result;
}

type ServerRow = ReturnType<typeof serverToRow>;
type ServerColumn = keyof ServerRow;

// Two writers own disjoint columns: the operator (API, fleet file) and the health checker.
const settingsColumns = [
  'name',
  'server_type',
  'kind_config',
  'base_url',
  'api_key_ciphertext',
  'is_active',
  'metadata',
  'expected_models',
  'detection',
  'health_check_interval_s',
  'max_concurrency',
  'managed_by',
  'updated_at',
] as const satisfies readonly ServerColumn[];

const statusColumns = [
  'health_status',
  'status_reason',
  'status_message',
  'consecutive_failures',
  'capabilities',
  'last_health_check',
  'last_latency_ms',
] as const satisfies readonly ServerColumn[];

function pick<K extends ServerColumn>(row: ServerRow, columns: readonly K[]): Pick<ServerRow, K> {
  const result = {} as Pick<ServerRow, K>;
  for (const column of columns) result[column] = row[column];
  return result;
}
