import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { LiveMetrics } from '../../observability/live-metrics.ts';
import { openEventStream } from '../plugins/event-stream.ts';

const tags = ['Analytics'];

/** How often a client may ask for figures: faster would be a load of its own, slower is no longer live. */
export const liveIntervalBounds = { min: 250, max: 60_000, default: 2_000 } as const;

const LiveQuery = Type.Object(
  {
    interval_ms: Type.Optional(Type.String({ pattern: '^[0-9]{1,6}$', description: `Milliseconds between snapshots, ${liveIntervalBounds.min}–${liveIntervalBounds.max} (default ${liveIntervalBounds.default}).` })),
    window_s: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$', description: 'Seconds of traffic each snapshot sums, 1–60 (default 10).' })),
  },
  { additionalProperties: false },
);

/**
 * `GET /api/v1/metrics/live`: request rate, errors, in-flight and TTFT p50 as
 * an SSE stream, one `metrics` event at once and then every `interval_ms`.
 * The GraphQL `metrics` subscription and `/ws/metrics` read this stream.
 */
export async function liveMetricsRoute(instance: FastifyInstance, dependencies: { live: LiveMetrics }): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  app.get('/metrics/live', { schema: { tags, summary: 'Live request figures as an SSE stream', querystring: LiveQuery } }, async (request, reply) => {
    const intervalMs = clamp(Number(request.query.interval_ms ?? liveIntervalBounds.default), liveIntervalBounds.min, liveIntervalBounds.max);
    const windowS = clamp(Number(request.query.window_s ?? 10), 1, 60);
    const stream = openEventStream(request, reply);
    if (stream === null) return;
    const send = () => stream.send('metrics', { interval_ms: intervalMs, ...dependencies.live.snapshot(windowS) });
    send();
    const timer = setInterval(send, intervalMs);
    stream.onClose(() => clearInterval(timer));
  });
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
