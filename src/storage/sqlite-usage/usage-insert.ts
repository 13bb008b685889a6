import type BetterSqlite3 from 'better-sqlite3';
import type { UsageRecordsTable } from '../database-schema.ts';
import { rollupRowsOf, sqliteRollupUpsert } from '../rollups/usage-rollups.ts';

const columns = [
  'id', 'occurred_at', 'request_id', 'key_id', 'requested_model', 'served_model', 'server_id', 'route', 'strategy', 'attempts',
  'status', 'error_type', 'prompt_tokens', 'completion_tokens', 'latency_ms', 'ttft_ms', 'streamed', 'cache_hit', 'cost', 'api', 'queue_wait_ms',
] as const satisfies ReadonlyArray<keyof UsageRecordsTable>;

/**
 * A batch of usage records and their rollups in one SQLite transaction, as
 * prepared statements: building the SQL would cost far more than running it.
 */
export function preparedUsageInsert(connection: BetterSqlite3.Database): (rows: UsageRecordsTable[]) => void {
  // A record already there (a spool replayed again after a crash before its segment was removed) is left as it is.
  const statement = connection.prepare(`insert into usage_records (${columns.join(', ')}, rolled_up) values (${columns.map((column) => `@${column}`).join(', ')}, 1) on conflict (id) do nothing`);
  const upsertRollups = sqliteRollupUpsert(connection);
  return connection.transaction((rows: UsageRecordsTable[]) => {
    const inserted: UsageRecordsTable[] = [];
    for (const row of rows) if (statement.run(row).changes === 1) inserted.push(row);
    // Rollups count what this transaction stored, so a replayed batch is not counted twice (decision 0029).
    upsertRollups(rollupRowsOf(inserted));
  });
}
