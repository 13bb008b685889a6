import type { FleetEvent } from '../servers/server-events.ts';
import type { WebhookDispatcher } from './webhook-dispatcher.ts';

/** Fleet changes that subscribers hear about: a server going down or coming back, models appearing or going. */
export function announceFleetEvent(event: FleetEvent, dispatcher: WebhookDispatcher): void {
  switch (event.type) {
    case 'server.status_changed':
      if (event.to === 'offline') {
        dispatcher.emit('server.down', { server_id: event.server.id, name: event.server.name, from: event.from, reason: event.server.statusMessage });
      } else if (event.to === 'online' && event.from === 'offline') {
        dispatcher.emit('server.up', { server_id: event.server.id, name: event.server.name, from: event.from });
      }
      return;
    case 'model.added':
      dispatcher.emit('model.added', { server_id: event.server.id, server: event.server.name, model: event.model.modelId, capabilities: event.model.capabilities });
      return;
    case 'model.removed':
      dispatcher.emit('model.removed', { server_id: event.server.id, server: event.server.name, model: event.modelId });
      return;
    default:
      return;
  }
}
