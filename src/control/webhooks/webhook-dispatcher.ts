import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { request, type Dispatcher } from 'undici';
import type { SecretBox } from '../../security/secret-box.ts';
import type { WebhookDeliveriesTable, WebhooksTable } from '../../storage/database-schema.ts';
import { readJson } from '../../storage/json-column.ts';
import type { WebhookStore } from '../../storage/webhook-store.ts';
import type { WebhookEvent, WebhookPayload } from './webhook-events.ts';
import { signWebhook } from './webhook-signature.ts';

export interface WebhookDispatcherOptions {
  store: WebhookStore;
  secretBox: SecretBox;
  dispatcher: Dispatcher;
  log: FastifyBaseLogger;
  maxAttempts?: number;
  retryBaseMs?: number;
  timeoutMs?: number;
  concurrency?: number;
}

interface Job {
  hook: WebhooksTable;
  delivery: WebhookDeliveriesTable;
}

const maxQueue = 10_000;

/**
 * Delivers fleet events to subscribed URLs, signed, retried with exponential
 * backoff and logged. Everything happens off the request path with bounded
 * concurrency and a per-attempt timeout: a slow or dead receiver only ever
 * delays its own deliveries.
 */
export class WebhookDispatcher {
  readonly #options: Required<WebhookDispatcherOptions>;
  #hooks: WebhooksTable[] = [];
  readonly #queue: Job[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  #active = 0;
  #closed = false;

  constructor(options: WebhookDispatcherOptions) {
    this.#options = { maxAttempts: 6, retryBaseMs: 1_000, timeoutMs: 5_000, concurrency: 4, ...options };
  }

  async load(): Promise<void> {
    this.#hooks = await this.#options.store.list();
  }

  /** Queues the event for every active subscriber; returns at once. */
  emit(type: WebhookEvent, data: Record<string, unknown>): void {
    if (this.#closed) return;
    const subscribers = this.#hooks.filter((hook) => Number(hook.is_active) === 1 && readJson<string[]>(hook.events, []).some((event) => event === type || event === '*'));
    if (subscribers.length === 0) return;
    const payload: WebhookPayload = { id: randomUUID(), type, created_at: new Date().toISOString(), data };
    const text = JSON.stringify(payload);
    for (const hook of subscribers) {
      if (this.#queue.length >= maxQueue) {
        this.#options.log.warn({ webhook: hook.id, event: type }, 'webhook queue full; delivery dropped');
        continue;
      }
      const now = new Date().toISOString();
      const delivery: WebhookDeliveriesTable = { id: randomUUID(), webhook_id: hook.id, event: type, payload: text, status: 'pending', attempts: 0, response_status: null, error: null, created_at: now, updated_at: now };
      this.#save(delivery);
      this.#queue.push({ hook, delivery });
    }
    this.#pump();
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #pump(): void {
    while (!this.#closed && this.#active < this.#options.concurrency && this.#queue.length > 0) {
      const job = this.#queue.shift() as Job;
      this.#active++;
      void this.#attempt(job).finally(() => {
        this.#active--;
        this.#pump();
      });
    }
  }

  async #attempt(job: Job): Promise<void> {
    const { hook, delivery } = job;
    delivery.attempts++;
    const timestamp = Math.floor(Date.now() / 1000);
    try {
      const secret = this.#options.secretBox.decrypt(hook.secret_ciphertext);
      const response = await request(hook.url, {
        method: 'POST',
        dispatcher: this.#options.dispatcher,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Switchyard-Webhooks/1',
          'x-switchyard-event': delivery.event,
          'x-switchyard-delivery': delivery.id,
          'x-switchyard-signature': signWebhook(secret, timestamp, delivery.payload),
        },
        body: delivery.payload,
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
      await response.body.dump();
      delivery.response_status = response.statusCode;
      if (response.statusCode >= 200 && response.statusCode < 300) return this.#finish(delivery, 'delivered', null);
      this.#retryOrFail(job, `HTTP ${response.statusCode}`);
    } catch (error) {
      this.#retryOrFail(job, error instanceof Error ? (error.name === 'TimeoutError' ? 'timed out' : error.message) : 'failed');
    }
  }

  #retryOrFail(job: Job, reason: string): void {
    const { delivery } = job;
    if (delivery.attempts >= this.#options.maxAttempts || this.#closed) return this.#finish(delivery, 'failed', reason);
    delivery.status = 'retrying';
    delivery.error = reason;
    delivery.updated_at = new Date().toISOString();
    this.#save(delivery);
    const delay = this.#options.retryBaseMs * 2 ** (delivery.attempts - 1) * (0.75 + Math.random() * 0.5);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#queue.push(job);
      this.#pump();
    }, delay);
    timer.unref();
    this.#timers.add(timer);
  }

  #finish(delivery: WebhookDeliveriesTable, status: 'delivered' | 'failed', error: string | null): void {
    delivery.status = status;
    delivery.error = error;
    delivery.updated_at = new Date().toISOString();
    this.#save(delivery);
    if (status === 'failed') this.#options.log.warn({ webhook: delivery.webhook_id, event: delivery.event, attempts: delivery.attempts, reason: error }, 'webhook delivery failed');
  }

  #save(delivery: WebhookDeliveriesTable): void {
    this.#options.store.saveDelivery({ ...delivery }).catch((error: unknown) => {
      this.#options.log.warn({ err: error instanceof Error ? error.message : 'unknown' }, 'could not log a webhook delivery');
    });
  }
}
