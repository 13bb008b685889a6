import type { FastifyInstance, FastifyRequest } from 'fastify';
import type {} from '@fastify/websocket';
import type { WebSocket } from 'ws';
import type { KeyRing, Scope } from '../../auth/key-ring.ts';
import type { WebsocketSettings } from '../../config/config-schema.ts';
import type { Caller, InternalRest } from '../internal/internal-rest.ts';
import type { SessionLookup } from '../plugins/authenticate.ts';
import { serveChat } from './chat-socket.ts';
import { serveMetrics, serveModels } from './feed-sockets.ts';
import { GatewaySocket, SocketCounts, type SocketContext } from './gateway-socket.ts';
import { websocketAccess } from './socket-access.ts';

export interface WebsocketRouteDependencies {
  rest: InternalRest;
  keyRing: KeyRing;
  sessions?: SessionLookup;
  settings: WebsocketSettings;
}

const tags = ['WebSocket'];
const authNote = 'Authenticate with the Authorization header, the console\'s session cookie (same origin only), or a first message `{"type": "auth", "key": "…"}` within SWITCHYARD_WS_AUTH_TIMEOUT_MS; never a key in the URL. A plain HTTP request gets 426 once its key is checked.';

/**
 * `/ws/chat`, `/ws/models` and `/ws/metrics`: WebSocket front doors over the
 * REST API in-process (docs/decisions/0026), with REST's keys and scopes.
 */
export async function websocketRoutes(app: FastifyInstance, dependencies: WebsocketRouteDependencies): Promise<void> {
  const { rest, keyRing, sessions, settings } = dependencies;
  const context: SocketContext = { keyRing, settings, counts: new SocketCounts() };
  // @fastify/websocket hides its routes from the API document; ours are documented like every other route.
  app.addHook('onRoute', (route) => {
    if (route.schema !== undefined && route.url.startsWith('/ws/')) route.schema.hide = false;
  });
  const endpoint = (path: string, scopes: readonly Scope[], summary: string, description: string, serve: (socket: GatewaySocket, caller: Caller, request: FastifyRequest) => void | Promise<void>) => {
    app.get(path, { websocket: true, onRequest: websocketAccess(keyRing, scopes, sessions), schema: { tags, summary, description: `${description} ${authNote}` } }, (raw: WebSocket, request: FastifyRequest) => {
      const socket = new GatewaySocket(raw, context);
      void socket.authenticate(request, scopes).then((caller) => (caller === null ? undefined : serve(socket, caller, request)));
    });
  };
  endpoint('/ws/chat', ['inference'], 'Chat over WebSocket, several conversations per socket', 'Send `{id?, model, message}` or `{id?, model, messages, …}`; receive `{type: "delta", id, content}` and a last `{type: "done", id, message, usage, model, server}`; `{type: "cancel", id}` cancels the upstream call.', (socket, caller) =>
    serveChat(socket, caller, rest, settings.max_conversations),
  );
  endpoint('/ws/models', ['read', 'inference'], 'Model and server status changes over WebSocket', '`{type: "models", data}` first (as GET /api/v1/models/status), then `{type: "model", …}` and, for read keys, `{type: "server", event, server}` as each change happens.', (socket, caller) => serveModels(socket, caller, rest));
  endpoint('/ws/metrics', ['read'], 'Live request figures over WebSocket', '`{type: "metrics", requests_per_s, errors_per_s, in_flight, ttft_p50_ms, …}` every `interval_ms` (`?interval_ms=`, or a message `{type: "interval", interval_ms}`; 250–60000).', (socket, caller, request) => {
    const asked = (request.query as { interval_ms?: unknown }).interval_ms;
    serveMetrics(socket, caller, rest, typeof asked === 'string' && /^[0-9]{1,6}$/.test(asked) ? Number(asked) : null);
  });
}
