import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

/**
 * The model registry (docs/decisions/0021): each model's versions (a digest or
 * root, where and when seen), daily figures per version from live traffic,
 * thresholds with their current violation, and whether it is active.
 */
export const modelRegistry: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('model_versions')
      .addColumn('model', 'text', (column) => column.notNull())
      .addColumn('version', 'text', (column) => column.notNull())
      .addColumn('first_seen_at', 'text', (column) => column.notNull())
      .addColumn('last_seen_at', 'text', (column) => column.notNull())
      .addColumn('servers', 'text', (column) => column.notNull())
      .addPrimaryKeyConstraint('model_versions_pk', ['model', 'version'])
      .execute();
    await db.schema
      .createTable('model_version_daily')
      .addColumn('model', 'text', (column) => column.notNull())
      .addColumn('version', 'text', (column) => column.notNull())
      .addColumn('day', 'text', (column) => column.notNull())
      .addColumn('requests', 'integer', (column) => column.notNull())
      .addColumn('errors', 'integer', (column) => column.notNull())
      .addColumn('p50_latency_ms', 'double precision')
      .addColumn('p95_latency_ms', 'double precision')
      .addColumn('p50_ttft_ms', 'double precision')
      .addColumn('p95_ttft_ms', 'double precision')
      .addColumn('tokens_per_s', 'double precision')
      .addPrimaryKeyConstraint('model_version_daily_pk', ['model', 'version', 'day'])
      .execute();
    await db.schema
      .createTable('model_thresholds')
      .addColumn('model', 'text', (column) => column.primaryKey().notNull())
      .addColumn('p95_latency_ms', 'double precision')
      .addColumn('p95_ttft_ms', 'double precision')
      .addColumn('min_tokens_per_s', 'double precision')
      .addColumn('max_error_rate', 'double precision')
      .addColumn('violation', 'text')
      .addColumn('violated_since', 'text')
      .addColumn('managed_by', 'text', (column) => column.notNull().defaultTo('api'))
      .addColumn('created_at', 'text', (column) => column.notNull())
      .addColumn('updated_at', 'text', (column) => column.notNull())
      .execute();
    await db.schema
      .createTable('model_states')
      .addColumn('model', 'text', (column) => column.primaryKey().notNull())
      .addColumn('active', 'integer', (column) => column.notNull())
      .addColumn('changed_at', 'text', (column) => column.notNull())
      .execute();
  },
};
