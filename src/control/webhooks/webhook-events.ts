export const webhookEvents = [
  'server.down',
  'server.up',
  'model.added',
  'model.removed',
  'key.budget_exceeded',
  'circuit.opened',
  'operation.finished',
  'placement.unsatisfied',
  'model.threshold_violated',
  'model.threshold_recovered',
] as const;
export type WebhookEvent = (typeof webhookEvents)[number];

/**
 * What a delivery can carry: a subscribable event, or `webhook.test`, which an
 * operator sends to one receiver on demand (POST /api/v1/webhooks/:id/test) and
 * nobody subscribes to.
 */
export type WebhookDeliveryEvent = WebhookEvent | 'webhook.test';

/** One event, as delivered: JSON with an id and a timestamp. */
export interface WebhookPayload {
  id: string;
  type: WebhookDeliveryEvent;
  created_at: string;
  data: Record<string, unknown>;
}
