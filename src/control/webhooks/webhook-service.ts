import { randomUUID } from 'node:crypto';
import type { Actor } from '../../domain/audit.ts';
import { errors } from '../../errors/error-catalogue.ts';
import type { SecretBox } from '../../security/secret-box.ts';
import type { WebhookDeliveriesTable, WebhooksTable } from '../../storage/database-schema.ts';
import { readJson } from '../../storage/json-column.ts';
import type { WebhookStore } from '../../storage/webhook-store.ts';
import type { WebhookDispatcher } from './webhook-dispatcher.ts';

export function toWebhookRecord(row: WebhooksTable) {
  return { id: row.id, url: row.url, events: readJson<string[]>(row.events, []), is_active: Number(row.is_active) === 1, has_secret: true, created_at: row.created_at, updated_at: row.updated_at };
}

function toDeliveryRecord(row: WebhookDeliveriesTable) {
  return {
    id: row.id,
    event: row.event,
    status: row.status,
    attempts: Number(row.attempts),
    response_status: row.response_status === null ? null : Number(row.response_status),
    error: row.error,
    payload: readJson<unknown>(row.payload, null),
    created_at: row.created_at,
    updated_at: row.updated_at,
    next_attempt_at: row.next_attempt_at,
  };
}

/** Subscriptions: the secret is write-only and stored encrypted. */
export class WebhookService {
  readonly #store: WebhookStore;
  readonly #secretBox: SecretBox;
  readonly #dispatcher: WebhookDispatcher;
  readonly #checkUrl: (url: string) => Promise<void>;

  constructor(options: { store: WebhookStore; secretBox: SecretBox; dispatcher: WebhookDispatcher; checkUrl: (url: string) => Promise<void> }) {
    this.#store = options.store;
    this.#secretBox = options.secretBox;
    this.#dispatcher = options.dispatcher;
    this.#checkUrl = options.checkUrl;
  }

  async create(input: { url: string; events: string[]; secret: string }, actor: Actor) {
    const url = validateWebhookUrl(input.url);
    await this.#checkUrl(url);
    const now = new Date().toISOString();
    const row: WebhooksTable = { id: randomUUID(), url, events: JSON.stringify([...new Set(input.events)]), secret_ciphertext: this.#secretBox.encrypt(input.secret), is_active: 1, created_at: now, updated_at: now };
    const record = toWebhookRecord(row);
    await this.#store.insert(row, { actor, action: 'webhook.create', targetType: 'webhook', targetId: row.id, before: null, after: record });
    await this.#dispatcher.load();
    return record;
  }

  async list() {
    return (await this.#store.list()).map(toWebhookRecord);
  }

  async get(id: string) {
    return toWebhookRecord(await this.#require(id));
  }

  async remove(id: string, actor: Actor): Promise<void> {
    const row = await this.#require(id);
    await this.#store.delete(id, { actor, action: 'webhook.delete', targetType: 'webhook', targetId: id, before: toWebhookRecord(row), after: null });
    await this.#dispatcher.load();
  }

  async deliveries(id: string, limit: number) {
    await this.#require(id);
    return (await this.#store.deliveries(id, limit)).map(toDeliveryRecord);
  }

  /** A `webhook.test` delivery to this subscriber, answered with its first attempt's outcome. */
  async sendTest(id: string) {
    await this.#require(id);
    return toDeliveryRecord(await this.#dispatcher.sendTest(id));
  }

  async #require(id: string): Promise<WebhooksTable> {
    const row = await this.#store.get(id);
    if (row === undefined) throw errors.notFound(`Webhook ${id}`);
    return row;
  }
}

function validateWebhookUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw errors.invalidRequest('url is not a valid URL.', 'url');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw errors.invalidRequest('url must use http or https.', 'url');
  if (url.username !== '' || url.password !== '') throw errors.invalidRequest('url must not contain credentials.', 'url');
  return url.toString();
}
