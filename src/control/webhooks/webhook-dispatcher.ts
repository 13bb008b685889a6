import { FailureMemory, type IntegrationStatus } from '../../observability/integration-status.ts';
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { request, type Dispatcher } from 'undici';
import type { SecretBox } from '../../security/secret-box.ts';
import type { WebhookDeliveriesTable, WebhooksTable } from '../../storage/database-schema.ts';
import { readJson } from '../../storage/json-column.ts';
import type { WebhookStore } from '../../storage/webhook-store.ts';
import { errors } from '../../errors/error-catalogue.ts';
import type { WebhookDeliveryEvent, WebhookEvent, WebhookPayload } from './webhook-events.ts';
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
  /** Called once, after the first attempt's outcome is stored (a test delivery's caller waits for it). */
  afterFirstAttempt?: () => void;
}

const maxQueue = 10_000;

/**
 * Delivers fleet events to subscribed URLs, signed, retried with exponential
 * backoff and logged. Everything happens off the request path with bounded
 * concurrency and a per-attempt timeout: a slow or dead receiver only ever
 * delays its own deliveries.
 *
 * Every delivery is stored with its state and, while retrying, when it is next
 * due; a restart resumes what was unfinished (see resume()). Receivers may then
 * see an attempt twice: the x-switchyard-delivery id makes that detectable.
 */
export class WebhookDispatcher {
  readonly #options: Required<WebhookDispatcherOptions>;
  #hooks: WebhooksTable[] = [];
  readonly #queue: Job[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #attempts = new Set<AbortController>();
  /** The last write queued per delivery: writes of one delivery land in order. */
  readonly #saves = new Map<string, Promise<void>>();
  #active = 0;
  #closed = false;

  constructor(options: WebhookDispatcherOptions) {
    this.#options = { maxAttempts: 6, retryBaseMs: 1_000, timeoutMs: 5_000, concurrency: 4, ...options };
  }

  async load(): Promise<void> {
    this.#hooks = await this.#options.store.list();
  }

  /** Once at start: picks up deliveries a previous run left pending or waiting for a retry. */
  async resume(): Promise<number> {
    const unfinished = await this.#options.store.unfinishedDeliveries(maxQueue);
    let resumed = 0;
    for (const delivery of unfinished) {
      const hook = this.#hooks.find((candidate) => candidate.id === delivery.webhook_id && Number(candidate.is_active) === 1);
      if (hook === undefined) continue;
      const dueAt = delivery.next_attempt_at === null ? 0 : Date.parse(delivery.next_attempt_at);
      this.#schedule({ hook, delivery: { ...delivery, attempts: Number(delivery.attempts) } }, Math.max(0, dueAt - Date.now()));
      resumed++;
    }
    if (resumed > 0) this.#options.log.info({ resumed }, 'resumed unfinished webhook deliveries');
    return resumed;
  }

  /** Queues the event for every active subscriber; returns at once. */
  emit(type: WebhookEvent, data: Record<string, unknown>): void {
    if (this.#closed) return;
    const subscribers = this.#hooks.filter((hook) => Number(hook.is_active) === 1 && readJson<string[]>(hook.events, []).some((event) => event === type || event === '*'));
    if (subscribers.length === 0) return;
    const text = payloadText(type, data);
    for (const hook of subscribers) {
      if (this.#queue.length >= maxQueue) {
        this.#options.log.warn({ webhook: hook.id, event: type }, 'webhook queue full; delivery dropped');
        continue;
      }
      this.#queue.push({ hook, delivery: this.#newDelivery(hook, type, text) });
    }
    this.#pump();
  }

  /**
   * Sends a `webhook.test` event to one subscriber through the same queue,
   * signing, retries and delivery log as any event, and resolves once its
   * first attempt is stored: the operator sees at once what the receiver
   * answered, and later attempts (if it failed) in the delivery log.
   */
  async sendTest(webhookId: string): Promise<WebhookDeliveriesTable> {
    if (this.#closed) throw errors.shuttingDown();
    const hook = this.#hooks.find((candidate) => candidate.id === webhookId);
    if (hook === undefined) throw errors.notFound(`Webhook ${webhookId}`);
    if (this.#queue.length >= maxQueue) throw errors.conflict(`The webhook queue is full (${maxQueue} deliveries waiting); send the test again once it has drained.`);
    const delivery = this.#newDelivery(hook, 'webhook.test', payloadText('webhook.test', { webhook_id: hook.id, message: 'A test delivery sent from Switchyard on request.' }));
    const attempted = new Promise<void>((resolve) => this.#queue.push({ hook, delivery, afterFirstAttempt: resolve }));
    this.#pump();
    await attempted;
    return { ...delivery };
  }

  #newDelivery(hook: WebhooksTable, event: WebhookDeliveryEvent, payload: string): WebhookDeliveriesTable {
    const now = new Date().toISOString();
    const delivery: WebhookDeliveriesTable = {
      id: randomUUID(),
      webhook_id: hook.id,
      event,
      payload,
      status: 'pending',
      attempts: 0,
      response_status: null,
      error: null,
      created_at: now,
      updated_at: now,
      next_attempt_at: null,
    };
    this.#save(delivery);
    return delivery;
  }

  /**
   * Stops delivering: scheduled retries stay stored for the next start,
   * attempts in flight are abandoned (and stored as retrying), and the
   * delivery log is written before this resolves.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const attempt of this.#attempts) attempt.abort();
    // A test delivery still queued is never attempted now: its caller gets it back as it stands (pending).
    for (const job of this.#queue) job.afterFirstAttempt?.();
    while (this.#active > 0 || this.#saves.size > 0) {
      await Promise.allSettled([...this.#saves.values()]);
      if (this.#active > 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  #pump(): void {
    while (!this.#closed && this.#active < this.#options.concurrency && this.#queue.length > 0) {
      const job = this.#queue.shift() as Job;
      this.#active++;
      void this.#attempt(job).finally(() => {
        this.#active--;
        const notify = job.afterFirstAttempt;
        if (notify !== undefined) {
          delete job.afterFirstAttempt;
          void this.#saved(job.delivery.id).then(notify);
        }
        this.#pump();
      });
    }
  }

  async #attempt(job: Job): Promise<void> {
    const { hook, delivery } = job;
    delivery.attempts++;
    const timestamp = Math.floor(Date.now() / 1000);
    const shutdown = new AbortController();
    this.#attempts.add(shutdown);
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
        signal: AbortSignal.any([AbortSignal.timeout(this.#options.timeoutMs), shutdown.signal]),
      });
      await response.body.dump();
      delivery.response_status = response.statusCode;
      if (response.statusCode >= 200 && response.statusCode < 300) return this.#finish(delivery, 'delivered', null);
      this.#retryOrFail(job, `HTTP ${response.statusCode}`);
    } catch (error) {
      this.#retryOrFail(job, shutdown.signal.aborted ? 'interrupted by shutdown' : error instanceof Error ? (error.name === 'TimeoutError' ? 'timed out' : error.message) : 'failed');
    } finally {
      this.#attempts.delete(shutdown);
    }
  }

  #retryOrFail(job: Job, reason: string): void {
    const { delivery } = job;
    if (delivery.attempts >= this.#options.maxAttempts) return this.#finish(delivery, 'failed', reason);
    const delay = this.#options.retryBaseMs * 2 ** (delivery.attempts - 1) * (0.75 + Math.random() * 0.5);
    delivery.status = 'retrying';
    delivery.error = reason;
    delivery.updated_at = new Date().toISOString();
    delivery.next_attempt_at = new Date(Date.now() + delay).toISOString();
    this.#save(delivery);
    // Closing: the stored schedule is picked up by the next start.
    if (!this.#closed) this.#schedule(job, delay);
  }

  #schedule(job: Job, delayMs: number): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#queue.push(job);
      this.#pump();
    }, delayMs);
    timer.unref();
    this.#timers.add(timer);
  }

  readonly #deliveries = new FailureMemory();

  /** Whether webhook deliveries succeed: the last one that failed for good, and when. */
  deliveryStatus(): IntegrationStatus {
    return this.#deliveries.status();
  }

  #finish(delivery: WebhookDeliveriesTable, status: 'delivered' | 'failed', error: string | null): void {
    if (status === 'delivered') this.#deliveries.succeed();
    else this.#deliveries.fail(`delivery of ${delivery.event} failed after ${delivery.attempts} attempts: ${error ?? 'unknown'}`);
    delivery.status = status;
    delivery.error = error;
    delivery.updated_at = new Date().toISOString();
    delivery.next_attempt_at = null;
    this.#save(delivery);
    if (status === 'failed') this.#options.log.warn({ webhook: delivery.webhook_id, event: delivery.event, attempts: delivery.attempts, reason: error }, 'webhook delivery failed');
  }

  /** Resolves when every write queued so far for this delivery has landed (or failed and been logged). */
  #saved(deliveryId: string): Promise<void> {
    return this.#saves.get(deliveryId) ?? Promise.resolve();
  }

  #save(delivery: WebhookDeliveriesTable): void {
    const row = { ...delivery };
    const previous = this.#saves.get(row.id) ?? Promise.resolve();
    const saving = previous.then(() =>
      this.#options.store.saveDelivery(row).catch((error: unknown) => {
        this.#options.log.warn({ err: error instanceof Error ? error.message : 'unknown' }, 'could not log a webhook delivery');
      }),
    );
    this.#saves.set(row.id, saving);
    void saving.then(() => {
      if (this.#saves.get(row.id) === saving) this.#saves.delete(row.id);
    });
  }
}

function payloadText(type: WebhookDeliveryEvent, data: Record<string, unknown>): string {
  const payload: WebhookPayload = { id: randomUUID(), type, created_at: new Date().toISOString(), data };
  return JSON.stringify(payload);
}
