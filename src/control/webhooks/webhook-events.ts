export const webhookEvents = ['server.down', 'server.up', 'model.added', 'model.removed', 'key.budget_exceeded', 'circuit.opened'] as const;
export type WebhookEvent = (typeof webhookEvents)[number];

/** One event, as delivered: JSON with an id and a timestamp. */
export interface WebhookPayload {
  id: string;
  type: WebhookEvent;
  created_at: string;
  data: Record<string, unknown>;
}
