import type { ModelServer, ServerModel } from '../../domain/model-server.ts';
import type { HealthStatus } from '../../domain/server-kind.ts';

/** What changes in the fleet; the scheduler, and later webhooks and the console, listen. */
export type FleetEvent = (
  | { type: 'server.created'; server: ModelServer }
  | { type: 'server.updated'; server: ModelServer; connectionChanged: boolean }
  | { type: 'server.deleted'; server: ModelServer }
  | { type: 'server.status_changed'; server: ModelServer; from: HealthStatus; to: HealthStatus }
  | { type: 'server.checked'; server: ModelServer }
  | { type: 'model.added'; server: ModelServer; model: ServerModel }
  | { type: 'model.removed'; server: ModelServer; modelId: string }
  /** Live traffic took a model on a server out of rotation (or a probe brought it back): see ServerRegistry.holdModel. */
  | { type: 'model.held'; server: ModelServer; model: ServerModel }
) & {
  /** Another replica made the change (or ran the probe); this replica only caught up. Webhooks are announced once, by the replica that made it. */
  remote?: true;
};

export type FleetListener = (event: FleetEvent) => void;
