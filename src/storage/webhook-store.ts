import type { Kysely } from 'kysely';
import type { AuditEntry } from '../domain/audit.ts';
import { withAudit } from './audit-store.ts';
import type { DatabaseSchema, WebhookDeliveriesTable, WebhooksTable } from './database-schema.ts';

/** Webhook subscriptions and their delivery log. */
export class WebhookStore {
  readonly #db: Kysely<DatabaseSchema>;

  constructor(db: Kysely<DatabaseSchema>) {
    this.#db = db;
  }

  list(): Promise<WebhooksTable[]> {
    return this.#db.selectFrom('webhooks').selectAll().orderBy('created_at').execute();
  }

  get(id: string): Promise<WebhooksTable | undefined> {
    return this.#db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insert(row: WebhooksTable, audit: AuditEntry): Promise<void> {
    await withAudit(this.#db, audit, (executor) => executor.insertInto('webhooks').values(row).execute());
  }

  async delete(id: string, audit: AuditEntry): Promise<void> {
    await withAudit(this.#db, audit, async (executor) => {
      await executor.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
      await executor.deleteFrom('webhooks').where('id', '=', id).execute();
    });
  }

  async saveDelivery(row: WebhookDeliveriesTable): Promise<void> {
    const { id, created_at: _createdAt, webhook_id: _webhook, event: _event, payload: _payload, ...changes } = row;
    await this.#db
      .insertInto('webhook_deliveries')
      .values(row)
      .onConflict((conflict) => conflict.column('id').doUpdateSet(changes))
      .execute();
    void id;
  }

  /** Deliveries not yet delivered nor given up, oldest first: resumed on start. */
  unfinishedDeliveries(limit: number): Promise<WebhookDeliveriesTable[]> {
    return this.#db.selectFrom('webhook_deliveries').selectAll().where('status', 'in', ['pending', 'retrying']).orderBy('created_at').orderBy('id').limit(limit).execute();
  }

  deliveries(webhookId: string, limit: number): Promise<WebhookDeliveriesTable[]> {
    return this.#db.selectFrom('webhook_deliveries').selectAll().where('webhook_id', '=', webhookId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }
}
