import { parseModelList } from '../openai/openai-models.ts';
import type { AdapterContext, LoadMetrics, ProbeResult } from '../server-adapter.ts';
import { upstreamCall } from '../server-adapter.ts';
import { parsePrometheusText, sumMetric } from '../shared/prometheus-text.ts';
import { isRecord, positiveInteger, recordField } from '../shared/wire-values.ts';
import { routerDetail, routerStates } from './llamacpp-router.ts';

/**
 * Models from /v1/models. A single-model llama-server has its one model
 * loaded, and its slots, metrics and props describe it. A router says per
 * model whether it is loaded, and answers /slots only for a named model: each
 * loaded model's own slots are its capacity (`perModel`).
 */
export async function probeLlamaCpp(context: AdapterContext): Promise<ProbeResult> {
  const body = await context.http.json(upstreamCall(context, '/v1/models', 'GET /v1/models'));
  const models = parseModelList(body);
  const states = routerStates(body);
  if (states !== null) {
    for (const model of models) {
      model.status = states.get(model.id)?.value === 'loaded' ? 'loaded' : 'available';
      model.details[routerDetail] = true;
    }
    const loadedModels = models.filter((model) => model.status === 'loaded').map((model) => model.id);
    return { models, load: await readRouterLoad(context, loadedModels) };
  }
  const { load, contextLength } = await readLlamaCppLoad(context);
  if (contextLength !== null) for (const model of models) model.contextLength ??= contextLength;
  load.loadedModels = models.map((model) => model.id);
  return { models, load };
}

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
    running = slots.filter(isBusy).length;
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

/** Each loaded model's /slots through the router; `autoload=false` so a model unloaded meanwhile is not loaded by a probe. */
async function readRouterLoad(context: AdapterContext, loadedModels: string[]): Promise<LoadMetrics> {
  const perModel: NonNullable<LoadMetrics['perModel']> = {};
  let running: number | null = null;
  await Promise.all(
    loadedModels.map(async (model) => {
      const path = `/slots?model=${encodeURIComponent(model)}&autoload=false`;
      const slots = await context.http.json(upstreamCall(context, path, 'GET /slots')).catch(() => null);
      if (!Array.isArray(slots)) return;
      const busy = slots.filter(isBusy).length;
      perModel[model] = { running: busy, slots: slots.length };
      running = (running ?? 0) + busy;
    }),
  );
  return { runningRequests: running, waitingRequests: null, kvCacheUsage: null, loadedModels, memoryBytes: null, details: {}, perModel };
}

function isBusy(slot: unknown): boolean {
  return isRecord(slot) && (slot['is_processing'] === true || slot['state'] === 1);
}
