import { RestError, type Caller, type InternalRest } from '../internal/internal-rest.ts';
import { liveIntervalBounds } from '../admin/live-metrics-route.ts';
import { closeCodes, type GatewaySocket } from './gateway-socket.ts';

type Json = Record<string, unknown>;

/**
 * `/ws/models`: the models the key may use (`{type: "models", data}`, as
 * GET /api/v1/models/status), then every change as it happens:
 * `{type: "model", model, status, loaded, servers}` and, for keys that may
 * read the fleet, `{type: "server", event, server}` (each fleet event).
 */
export async function serveModels(socket: GatewaySocket, caller: Caller, rest: InternalRest): Promise<void> {
  try {
    const current = await rest.json<{ data: unknown[] }>(caller, 'GET', '/api/v1/models/status');
    socket.send({ type: 'models', data: current.body.data });
  } catch (error) {
    return refuse(socket, error);
  }
  socket.onMessage(() => socket.error('SY_INVALID_REQUEST', 'This socket only sends; it takes no messages.'));
  const relay = async (url: string, translate: (event: string, data: Json) => Json | null, optional: boolean) => {
    try {
      for await (const event of rest.events(caller, 'GET', url, undefined, socket.closed)) {
        const message = translate(event.event, JSON.parse(event.data) as Json);
        if (message !== null) socket.send(message);
      }
    } catch (error) {
      // An inference key reads model changes but not the fleet's servers: that feed is left out, not the socket closed.
      if (optional && error instanceof RestError && error.status === 403) return;
      refuse(socket, error);
    }
  };
  await Promise.all([
    relay('/api/v1/models/status/events', (event, data) => (event === 'model' ? { type: 'model', ...data } : null), false),
    relay(
      '/api/v1/events',
      (event, data) => (event === 'server.deleted' ? { type: 'server', event: 'server.deleted', server: data } : event === 'server' ? { type: 'server', event: data['type'], server: data['server'] } : null),
      true,
    ),
  ]);
}

/**
 * `/ws/metrics`: `{type: "metrics", …}` live figures every `interval_ms`
 * (from the URL's `?interval_ms=`, or a message `{type: "interval",
 * interval_ms}` at any time), as GET /api/v1/metrics/live.
 */
export function serveMetrics(socket: GatewaySocket, caller: Caller, rest: InternalRest, firstIntervalMs: number | null): void {
  let current: AbortController | null = null;
  const start = (intervalMs: number | null) => {
    current?.abort();
    const controller = new AbortController();
    current = controller;
    socket.closed.addEventListener('abort', () => controller.abort(), { once: true });
    const query = intervalMs === null ? '' : `?interval_ms=${intervalMs}`;
    void (async () => {
      try {
        for await (const event of rest.events(caller, 'GET', `/api/v1/metrics/live${query}`, undefined, controller.signal)) {
          if (event.event === 'metrics') socket.send({ type: 'metrics', ...(JSON.parse(event.data) as Json) });
        }
      } catch (error) {
        if (!controller.signal.aborted) refuse(socket, error);
      }
    })();
  };
  socket.onMessage((message) => {
    const interval = message['interval_ms'];
    if ((message['type'] === 'interval' || message['type'] === 'subscribe') && typeof interval === 'number' && Number.isInteger(interval)) {
      if (interval < liveIntervalBounds.min || interval > liveIntervalBounds.max) return socket.error('SY_INVALID_REQUEST', `interval_ms must be ${liveIntervalBounds.min}–${liveIntervalBounds.max}.`);
      return start(interval);
    }
    socket.error('SY_INVALID_REQUEST', 'Send {"type": "interval", "interval_ms": N} to change the pace; nothing else is taken.');
  });
  start(firstIntervalMs);
}

/** A refusal by REST (the key lost its scope, was revoked) or a failure ends the socket with a code that says which. */
function refuse(socket: GatewaySocket, error: unknown): void {
  if (socket.closed.aborted) return;
  if (error instanceof RestError) {
    socket.error(error.code, error.message);
    const code = error.status === 401 ? closeCodes.unauthenticated : error.status === 403 ? closeCodes.forbidden : 1011;
    socket.close(code, error.message);
    return;
  }
  socket.close(1011, 'The feed failed inside the gateway.');
}
