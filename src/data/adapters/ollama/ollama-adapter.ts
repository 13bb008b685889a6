import { capabilitySourceDetail, type CapabilitySource } from '../../../domain/model-server.ts';
import type { AdapterContext, DiscoveredModel, LoadMetrics, ProbeResult } from '../server-adapter.ts';
import type { KindProbe } from '../server-kind-module.ts';
import { upstreamCall } from '../server-adapter.ts';
import { mapWithConcurrency } from '../../../lib/map-with-concurrency.ts';
import { isRecord, arrayField } from '../shared/wire-values.ts';
import { mapOllamaCapabilities } from './ollama-capabilities.ts';
import { architectureValue, parseRunning, parseShow, parseTags, type OllamaRunning, type OllamaTag } from './ollama-wire.ts';

// /api/show is one call per model: fetch it only for new or re-pulled (new digest) models.
const showConcurrency = 4;

export const ollamaAdapter: KindProbe = {
  async probe(context, previous): Promise<ProbeResult> {
    const [tagsBody, runningBody] = await Promise.all([
      context.http.json(upstreamCall(context, '/api/tags', 'GET /api/tags')),
      // /api/ps is younger than /api/tags; a server without it still lists models.
      context.http.json(upstreamCall(context, '/api/ps', 'GET /api/ps')).catch(() => null),
    ]);
    const tags = parseTags(tagsBody);
    const running = runningBody === null ? [] : parseRunning(runningBody);
    const loadedNames = new Set(running.map((model) => model.name));

    const models = await mapWithConcurrency(tags, showConcurrency, async (tag) => {
      const known = previous.get(tag.name);
      // A model stored before its capabilities' source (or its modified_at) was recorded is described once more.
      if (known !== undefined && known.details['digest'] === tag.digest && known.details[capabilitySourceDetail] !== undefined && (tag.modifiedAt === null || known.details['modified_at'] !== undefined)) {
        return { ...known, status: loadedNames.has(tag.name) ? 'loaded' : 'available' } satisfies DiscoveredModel;
      }
      return describeModel(context, tag, loadedNames.has(tag.name));
    });
    return { models, load: runningBody === null ? null : loadFrom(running) };
  },

  async probeEmbeddingDimension(context: AdapterContext, modelId: string): Promise<number | null> {
    const body = await context.http.json(
      upstreamCall(context, '/api/embed', 'POST /api/embed', { method: 'POST', body: { model: modelId, input: 'dimension probe' } }),
    );
    const embeddings = isRecord(body) ? arrayField(body, 'embeddings') : null;
    const first = embeddings?.[0];
    return Array.isArray(first) && first.length > 0 ? first.length : null;
  },
};

async function describeModel(context: AdapterContext, tag: OllamaTag, isLoaded: boolean): Promise<DiscoveredModel> {
  let reported: string[] | null = null;
  let modelInfo: Record<string, unknown> = {};
  try {
    const show = parseShow(
      await context.http.json(upstreamCall(context, '/api/show', 'POST /api/show', { method: 'POST', body: { model: tag.name } })),
    );
    reported = show.capabilities;
    modelInfo = show.modelInfo;
  } catch {
    // A model whose details cannot be read is still served; the name decides.
  }
  return {
    id: tag.name,
    capabilities: mapOllamaCapabilities(reported, tag.name),
    embeddingDimension: architectureValue(modelInfo, 'embedding_length'),
    contextLength: architectureValue(modelInfo, 'context_length'),
    status: isLoaded ? 'loaded' : 'available',
    details: compact({
      // Ollama ≥ 0.6 says what a model does; older servers (or a failed /api/show) leave the name to decide.
      [capabilitySourceDetail]: (reported === null || reported.length === 0 ? 'name' : 'server') satisfies CapabilitySource,
      digest: tag.digest,
      size_bytes: tag.sizeBytes,
      family: tag.family,
      parameter_size: tag.parameterSize,
      quantization: tag.quantization,
      modified_at: tag.modifiedAt,
    }),
  };
}

function loadFrom(running: OllamaRunning[]): LoadMetrics {
  const vram = running.reduce((total, model) => total + (model.vramBytes ?? 0), 0);
  return {
    runningRequests: null,
    waitingRequests: null,
    kvCacheUsage: null,
    loadedModels: running.map((model) => model.name),
    memoryBytes: running.length === 0 ? 0 : vram,
    details: { loaded_models: running.length },
    running: running.map((model) => ({ model: model.name, vramBytes: model.vramBytes, expiresAt: model.expiresAt })),
  };
}

function compact(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== null && value !== undefined));
}
