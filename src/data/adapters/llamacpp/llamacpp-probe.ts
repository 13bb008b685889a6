import type { AdapterContext, LoadMetrics } from '../server-adapter.ts';
import { upstreamCall } from '../server-adapter.ts';
import { parsePrometheusText, sumMetric } from '../shared/prometheus-text.ts';
import { isRecord, positiveInteger, recordField } from '../shared/wire-values.ts';

/**
 * llama.cpp's server: `/slots` says which slots are busy (running requests),
 * `/metrics` (when started with --metrics) how many wait, `/props` the context
 * size each slot gets. Each endpoint can be switched off, so each is optional.
 */
export async function readLlamaCppLoad(context: AdapterContext): Promise<{ load: LoadMetrics; contextLength: number | null }> {
  const [slots, metrics, props] = await Promise.all([
    context.http.json(upstreamCall(context, '/slots', 'GET /slots')).catch(() => null),
    context.http.text(upstreamCall(context, '/metrics', 'GET /metrics')).catch(() => null),
    context.http.json(upstreamCall(context, '/props', 'GET /props')).catch(() => null),
  ]);
  let running: number | null = null;
  let totalSlots: number | null = null;
  if (Array.isArray(slots)) {
    totalSlots = slots.length;
    running = slots.filter((slot) => isRecord(slot) && (slot['is_processing'] === true || slot['state'] === 1)).length;
  }
  let waiting: number | null = null;
  if (metrics !== null && metrics.status === 200) {
    const samples = parsePrometheusText(metrics.text);
    waiting = sumMetric(samples, 'llamacpp:requests_deferred');
    running ??= sumMetric(samples, 'llamacpp:requests_processing');
  }
  const settings = isRecord(props) ? recordField(props, 'default_generation_settings') : null;
  const details: Record<string, number> = {};
  if (totalSlots !== null) details['total_slots'] = totalSlots;
  return {
    load: { runningRequests: running, waitingRequests: waiting, kvCacheUsage: null, loadedModels: [], memoryBytes: null, details },
    contextLength: settings === null ? null : positiveInteger(settings['n_ctx']),
  };
}
