import type { Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

// Column types are chosen to mean the same on SQLite and PostgreSQL
// (primary keys say NOT NULL: SQLite would otherwise allow a NULL key):
// text timestamps (ISO-8601), text JSON, integer booleans, double precision numbers.
const timestamp = 'text';

export const initialSchema: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('model_servers')
      .addColumn('id', 'text', (column) => column.primaryKey().notNull())
      .addColumn('name', 'text', (column) => column.notNull().unique())
      .addColumn('server_type', 'text', (column) => column.notNull())
      .addColumn('base_url', 'text', (column) => column.notNull())
      .addColumn('api_key_ciphertext', 'text')
      .addColumn('is_active', 'integer', (column) => column.notNull().defaultTo(1))
      .addColumn('health_status', 'text', (column) => column.notNull().defaultTo('unknown'))
      .addColumn('status_reason', 'text')
      .addColumn('status_message', 'text')
      .addColumn('consecutive_failures', 'integer', (column) => column.notNull().defaultTo(0))
      .addColumn('capabilities', 'text', (column) => column.notNull().defaultTo('[]'))
      .addColumn('metadata', 'text', (column) => column.notNull().defaultTo('{}'))
      .addColumn('expected_models', 'text', (column) => column.notNull().defaultTo('[]'))
      .addColumn('detection', 'text')
      .addColumn('health_check_interval_s', 'integer', (column) => column.notNull())
      .addColumn('managed_by', 'text', (column) => column.notNull().defaultTo('api'))
      .addColumn('last_health_check', timestamp)
      .addColumn('last_latency_ms', 'double precision')
      .addColumn('created_at', timestamp, (column) => column.notNull())
      .addColumn('updated_at', timestamp, (column) => column.notNull())
      .execute();

    await db.schema
      .createTable('server_models')
      .addColumn('server_id', 'text', (column) => column.notNull().references('model_servers.id').onDelete('cascade'))
      .addColumn('model_id', 'text', (column) => column.notNull())
      .addColumn('capabilities', 'text', (column) => column.notNull().defaultTo('[]'))
      .addColumn('embedding_dimension', 'integer')
      .addColumn('context_length', 'integer')
      .addColumn('status', 'text', (column) => column.notNull().defaultTo('available'))
      .addColumn('details', 'text', (column) => column.notNull().defaultTo('{}'))
      .addColumn('first_seen_at', timestamp, (column) => column.notNull())
      .addColumn('last_seen_at', timestamp, (column) => column.notNull())
      .addPrimaryKeyConstraint('server_models_pk', ['server_id', 'model_id'])
      .execute();

    await db.schema
      .createTable('model_events')
      .addColumn('id', 'text', (column) => column.primaryKey().notNull())
      .addColumn('server_id', 'text', (column) => column.notNull().references('model_servers.id').onDelete('cascade'))
      .addColumn('model_id', 'text', (column) => column.notNull())
      .addColumn('event', 'text', (column) => column.notNull())
      .addColumn('occurred_at', timestamp, (column) => column.notNull())
      .execute();
    await db.schema.createIndex('model_events_server_time').on('model_events').columns(['server_id', 'occurred_at']).execute();

    await db.schema
      .createTable('health_checks')
      .addColumn('id', 'text', (column) => column.primaryKey().notNull())
      .addColumn('server_id', 'text', (column) => column.notNull().references('model_servers.id').onDelete('cascade'))
      .addColumn('checked_at', timestamp, (column) => column.notNull())
      .addColumn('outcome', 'text', (column) => column.notNull())
      .addColumn('health_status', 'text', (column) => column.notNull())
      .addColumn('previous_status', 'text', (column) => column.notNull())
      .addColumn('status_reason', 'text')
      .addColumn('latency_ms', 'double precision')
      .addColumn('error_message', 'text')
      .addColumn('models_found', 'integer')
      .execute();
    await db.schema.createIndex('health_checks_server_time').on('health_checks').columns(['server_id', 'checked_at']).execute();
    await db.schema.createIndex('health_checks_time').on('health_checks').column('checked_at').execute();

    await db.schema
      .createTable('server_metrics')
      .addColumn('id', 'text', (column) => column.primaryKey().notNull())
      .addColumn('server_id', 'text', (column) => column.notNull().references('model_servers.id').onDelete('cascade'))
      .addColumn('recorded_at', timestamp, (column) => column.notNull())
      .addColumn('running_requests', 'double precision')
      .addColumn('waiting_requests', 'double precision')
      .addColumn('kv_cache_usage', 'double precision')
      .addColumn('loaded_models', 'text', (column) => column.notNull().defaultTo('[]'))
      .addColumn('memory_bytes', 'double precision')
      .addColumn('details', 'text', (column) => column.notNull().defaultTo('{}'))
      .execute();
    await db.schema.createIndex('server_metrics_server_time').on('server_metrics').columns(['server_id', 'recorded_at']).execute();
    await db.schema.createIndex('server_metrics_time').on('server_metrics').column('recorded_at').execute();

    await db.schema
      .createTable('routes')
      .addColumn('id', 'text', (column) => column.primaryKey().notNull())
      .addColumn('name', 'text', (column) => column.notNull().unique())
      .addColumn('strategy', 'text', (column) => column.notNull())
      .addColumn('targets', 'text', (column) => column.notNull().defaultTo('[]'))
      .addColumn('fallbacks', 'text', (column) => column.notNull().defaultTo('[]'))
      .addColumn('metadata', 'text', (column) => column.notNull().defaultTo('{}'))
      .addColumn('created_at', timestamp, (column) => column.notNull())
      .addColumn('updated_at', timestamp, (column) => column.notNull())
      .execute();

    await db.schema
      .createTable('api_keys')
      .addColumn('id', 'text', (column) => column.primaryKey().notNull())
      .addColumn('name', 'text', (column) => column.notNull())
      .addColumn('key_hash', 'text', (column) => column.notNull().unique())
      .addColumn('prefix', 'text', (column) => column.notNull())
      .addColumn('scopes', 'text', (column) => column.notNull())
      .addColumn('models', 'text')
      .addColumn('rpm', 'integer')
      .addColumn('tpm', 'integer')
      .addColumn('budget_tokens', 'double precision')
      .addColumn('used_tokens', 'double precision', (column) => column.notNull().defaultTo(0))
      .addColumn('expires_at', timestamp)
      .addColumn('revoked_at', timestamp)
      .addColumn('last_used_at', timestamp)
      .addColumn('metadata', 'text', (column) => column.notNull().defaultTo('{}'))
      .addColumn('created_at', timestamp, (column) => column.notNull())
      .execute();

    await db.schema
      .createTable('usage_records')
      .addColumn('id', 'text', (column) => column.primaryKey().notNull())
      .addColumn('occurred_at', timestamp, (column) => column.notNull())
      .addColumn('request_id', 'text', (column) => column.notNull())
      .addColumn('key_id', 'text')
      .addColumn('requested_model', 'text')
      .addColumn('served_model', 'text')
      .addColumn('server_id', 'text')
      .addColumn('route', 'text')
      .addColumn('strategy', 'text')
      .addColumn('attempts', 'integer', (column) => column.notNull().defaultTo(1))
      .addColumn('status', 'integer', (column) => column.notNull())
      .addColumn('error_type', 'text')
      .addColumn('prompt_tokens', 'integer')
      .addColumn('completion_tokens', 'integer')
      .addColumn('latency_ms', 'double precision', (column) => column.notNull())
      .addColumn('ttft_ms', 'double precision')
      .addColumn('streamed', 'integer', (column) => column.notNull().defaultTo(0))
      .addColumn('cache_hit', 'integer', (column) => column.notNull().defaultTo(0))
      .execute();
    await db.schema.createIndex('usage_records_time').on('usage_records').column('occurred_at').execute();

    await db.schema
      .createTable('audit_log')
      .addColumn('id', 'text', (column) => column.primaryKey().notNull())
      .addColumn('occurred_at', timestamp, (column) => column.notNull())
      .addColumn('actor_key_id', 'text')
      .addColumn('action', 'text', (column) => column.notNull())
      .addColumn('target_type', 'text', (column) => column.notNull())
      .addColumn('target_id', 'text')
      .addColumn('before_state', 'text')
      .addColumn('after_state', 'text')
      .addColumn('request_id', 'text')
      .addColumn('source_ip', 'text')
      .execute();
    await db.schema.createIndex('audit_log_time').on('audit_log').column('occurred_at').execute();

    await db.schema
      .createTable('settings')
      .addColumn('key', 'text', (column) => column.primaryKey().notNull())
      .addColumn('value', 'text', (column) => column.notNull())
      .addColumn('updated_at', timestamp, (column) => column.notNull())
      .execute();
  },
};
