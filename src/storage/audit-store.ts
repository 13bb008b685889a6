import { sortableId } from '../lib/sortable-id.ts';
import type { Kysely, Transaction } from 'kysely';
import type { AuditEntry } from '../domain/audit.ts';
import type { AuditLogTable, DatabaseSchema } from './database-schema.ts';

type Executor = Kysely<DatabaseSchema> | Transaction<DatabaseSchema>;

export interface AuditQuery {
  action?: string;
  targetType?: string;
  targetId?: string;
  actorKeyId?: string;
  from?: string;
  to?: string;
  /** Exclusive: entries strictly older than this cursor (`occurred_at|id`). */
  before?: { occurredAt: string; id: string };
  limit: number;
}

/** Writes an audit row with whatever executor the change itself uses (same transaction). */
export async function insertAudit(executor: Executor, entry: AuditEntry): Promise<void> {
  await executor
    .insertInto('audit_log')
    .values({
      id: sortableId(),
      occurred_at: new Date().toISOString(),
      actor_key_id: entry.actor.keyId,
      action: entry.action,
      target_type: entry.targetType,
      target_id: entry.targetId,
      before_state: entry.before === null || entry.before === undefined ? null : JSON.stringify(entry.before),
      after_state: entry.after === null || entry.after === undefined ? null : JSON.stringify(entry.after),
      request_id: entry.actor.requestId,
      source_ip: entry.actor.sourceIp,
    })
    .execute();
}

/** Runs `change` and its audit row in one transaction: both land or neither does. */
export async function withAudit<T>(db: Kysely<DatabaseSchema>, entry: AuditEntry | undefined, change: (executor: Executor) => Promise<T>): Promise<T> {
  if (entry === undefined) return change(db);
  return db.transaction().execute(async (transaction) => {
    const result = await change(transaction);
    await insertAudit(transaction, entry);
    return result;
  });
}

export class AuditStore {
  readonly #db: Kysely<DatabaseSchema>;

  constructor(db: Kysely<DatabaseSchema>) {
    this.#db = db;
  }

  async list(query: AuditQuery): Promise<AuditLogTable[]> {
    let select = this.#db.selectFrom('audit_log').selectAll();
    if (query.action !== undefined) select = select.where('action', '=', query.action);
    if (query.targetType !== undefined) select = select.where('target_type', '=', query.targetType);
    if (query.targetId !== undefined) select = select.where('target_id', '=', query.targetId);
    if (query.actorKeyId !== undefined) select = select.where('actor_key_id', '=', query.actorKeyId);
    if (query.from !== undefined) select = select.where('occurred_at', '>=', query.from);
    if (query.to !== undefined) select = select.where('occurred_at', '<', query.to);
    const cursor = query.before;
    if (cursor !== undefined) {
      select = select.where((eb) =>
        eb.or([eb('occurred_at', '<', cursor.occurredAt), eb.and([eb('occurred_at', '=', cursor.occurredAt), eb('id', '<', cursor.id)])]),
      );
    }
    return select.orderBy('occurred_at', 'desc').orderBy('id', 'desc').limit(query.limit).execute();
  }
}
