import { capabilitySourceDetail, type CapabilitySource } from '../../../domain/model-server.ts';
import type { AdapterContext, DiscoveredModel, LoadMetrics, ProbeResult } from '../server-adapter.ts';
import type { KindProbe } from '../server-kind-module.ts';
import { upstreamCall } from '../server-adapter.ts';
import { parseModelList } from '../openai/openai-models.ts';
import { parsePrometheusText, sumMetric } from '../shared/prometheus-text.ts';
import { UpstreamError } from '../../upstream/upstream-error.ts';
import { capabilitiesOfTask, parseTeiInfo, serverApiDetail, teiModelDetails } from './tei-info.ts';
import type { ModelCapability } from '../../../domain/server-kind.ts';
import { capabilitiesFromName, sortCapabilities } from '../shared/capability-heuristics.ts';
import { arrayField, isRecord, stringField } from '../shared/wire-values.ts';

/**
 * Hugging Face text-embeddings-inference: one model per server, described by
 * `/info`; queue depth on `/metrics`. Servers of the `embedding` kind that are
 * not TEI (Infinity and friends) answer `/v1/models` instead.
 */
export const teiAdapter: KindProbe = {
  async probe(context, previous): Promise<ProbeResult> {
    const info = await readInfo(context);
    if (info === null) return probeOpenAIStyle(context, 'embedding');
    const known = previous.get(info.modelId);
    const model: DiscoveredModel = {
      id: info.modelId,
      capabilities: capabilitiesOfTask(info.task),
      embeddingDimension: known?.embeddingDimension ?? null,
      contextLength: info.maxInputLength,
      status: 'loaded',
      details: teiModelDetails(info),
    };
    return { models: [model], load: await readTeiLoad(context, [info.modelId], info.maxConcurrentRequests) };
  },

  async probeEmbeddingDimension(context: AdapterContext): Promise<number | null> {
    const body = await context.http.json(upstreamCall(context, '/embed', 'POST /embed', { method: 'POST', body: { inputs: 'dimension probe' } }));
    const first = Array.isArray(body) ? body[0] : null;
    return Array.isArray(first) && first.length > 0 ? first.length : null;
  },
};

/** TEI's /info, or null when the server is not TEI (404/405). */
export async function readInfo(context: AdapterContext) {
  try {
    return parseTeiInfo(await context.http.json(upstreamCall(context, '/info', 'GET /info')));
  } catch (error) {
    if (error instanceof UpstreamError && error.failure === 'status' && (error.upstreamStatus === 404 || error.upstreamStatus === 405)) {
      return null;
    }
    throw error;
  }
}

/**
 * A server without /info (Infinity, Jina and friends) lists /v1/models. What
 * each model does comes from the listing when it says (Infinity's
 * `capabilities`), else from a name that says embed or rerank, else from the
 * kind it was registered as: so an Infinity server serving an embedder and a
 * reranker works whether it was added as `embedding` or `reranker`.
 */
export async function probeOpenAIStyle(context: AdapterContext, capability: 'embedding' | 'rerank'): Promise<ProbeResult> {
  const body = await context.http.json(upstreamCall(context, '/v1/models', 'GET /v1/models'));
  const listed = listedCapabilities(body);
  const models = parseModelList(body);
  for (const model of models) {
    const fromListing = listed.get(model.id) ?? [];
    const fromName = capabilitiesFromName(model.id).filter((found) => found === 'embedding' || found === 'rerank');
    const [capabilities, source]: [ModelCapability[], CapabilitySource] =
      fromListing.length > 0 ? [fromListing, 'server'] : fromName.length > 0 ? [fromName, 'name'] : [[capability], 'kind'];
    model.capabilities = capabilities;
    model.details[capabilitySourceDetail] = source;
    model.details[serverApiDetail] = 'openai';
  }
  return { models, load: null };
}

/** Infinity lists `capabilities: ["embed"]` or `["rerank"]` per model; mapped to ours. */
function listedCapabilities(body: unknown): Map<string, ModelCapability[]> {
  const byId = new Map<string, ModelCapability[]>();
  const data = isRecord(body) ? arrayField(body, 'data') : null;
  for (const entry of data ?? []) {
    if (!isRecord(entry)) continue;
    const id = stringField(entry, 'id');
    const listed = arrayField(entry, 'capabilities');
    if (id === null || listed === null) continue;
    const capabilities = new Set<ModelCapability>();
    for (const name of listed) {
      if (name === 'embed' || name === 'embedding') capabilities.add('embedding');
      if (name === 'rerank') capabilities.add('rerank');
    }
    byId.set(id, sortCapabilities(capabilities));
  }
  return byId;
}

async function readTeiLoad(context: AdapterContext, loadedModels: string[], maxConcurrentRequests: number | null): Promise<LoadMetrics | null> {
  const response = await context.http.text(upstreamCall(context, '/metrics', 'GET /metrics')).catch(() => null);
  if (response === null || response.status !== 200) return null;
  const samples = parsePrometheusText(response.text);
  return {
    runningRequests: sumMetric(samples, 'te_batch_current_size'),
    waitingRequests: sumMetric(samples, 'te_queue_size'),
    kvCacheUsage: null,
    loadedModels,
    memoryBytes: null,
    // Requests TEI admits at once (its permits): the deployment's capacity unless the server record states one.
    details: maxConcurrentRequests === null ? {} : { max_concurrent_requests: maxConcurrentRequests },
  };
}
