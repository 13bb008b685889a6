import type { Kysely } from 'kysely';
import type { AuditEntry } from '../domain/audit.ts';
import { withAudit } from './audit-store.ts';
import type { DatabaseSchema, ModelThresholdsTable, ModelVersionDailyTable, ModelVersionsTable } from './database-schema.ts';

/** The model registry's tables: versions, daily figures per version, thresholds, active or not. */
export class ModelRegistryStore {
  readonly #db: Kysely<DatabaseSchema>;

  constructor(db: Kysely<DatabaseSchema>) {
    this.#db = db;
  }

  versions(): Promise<ModelVersionsTable[]> {
    return this.#db.selectFrom('model_versions').selectAll().execute();
  }

  async saveVersion(row: ModelVersionsTable): Promise<void> {
    await this.#db
      .insertInto('model_versions')
      .values(row)
      .onConflict((conflict) => conflict.columns(['model', 'version']).doUpdateSet({ last_seen_at: row.last_seen_at, servers: row.servers }))
      .execute();
  }

  async daily(model: string): Promise<ModelVersionDailyTable[]> {
    return this.#db.selectFrom('model_version_daily').selectAll().where('model', '=', model).orderBy('day', 'desc').execute();
  }

  /** Replaces one day's figures of the given models (a rollup recomputes the day whole). */
  async replaceDay(day: string, models: string[], rows: ModelVersionDailyTable[]): Promise<void> {
    await this.#db.transaction().execute(async (transaction) => {
      if (models.length > 0) await transaction.deleteFrom('model_version_daily').where('day', '=', day).where('model', 'in', models).execute();
      if (rows.length > 0) await transaction.insertInto('model_version_daily').values(rows).execute();
    });
  }

  thresholds(): Promise<ModelThresholdsTable[]> {
    return this.#db.selectFrom('model_thresholds').selectAll().execute();
  }

  async saveThresholds(row: ModelThresholdsTable, isNew: boolean, audit?: AuditEntry): Promise<void> {
    await withAudit(this.#db, audit, async (executor) => {
      if (isNew) await executor.insertInto('model_thresholds').values(row).execute();
      else {
        const { model, created_at: _createdAt, ...fields } = row;
        await executor.updateTable('model_thresholds').set(fields).where('model', '=', model).execute();
      }
    });
  }

  async deleteThresholds(model: string, audit?: AuditEntry): Promise<void> {
    await withAudit(this.#db, audit, (executor) => executor.deleteFrom('model_thresholds').where('model', '=', model).execute());
  }

  async inactiveModels(): Promise<string[]> {
    return (await this.#db.selectFrom('model_states').select('model').where('active', '=', 0).execute()).map((row) => row.model);
  }

  async setActive(model: string, active: boolean, audit: AuditEntry): Promise<void> {
    const changedAt = new Date().toISOString();
    await withAudit(this.#db, audit, (executor) =>
      executor
        .insertInto('model_states')
        .values({ model, active: active ? 1 : 0, changed_at: changedAt })
        .onConflict((conflict) => conflict.column('model').doUpdateSet({ active: active ? 1 : 0, changed_at: changedAt }))
        .execute(),
    );
  }
}
