import type { ServerKind } from '../../../domain/server-kind.ts';
import type { AdapterContext, DiscoveredModel, LoadMetrics, ProbeResult, ServerAdapter } from '../server-adapter.ts';
import { upstreamCall } from '../server-adapter.ts';
import { readLlamaCppLoad } from './llamacpp-probe.ts';
import { embeddingLength, parseModelList } from './openai-models.ts';

/** Reads load from a server-specific endpoint; null when the server exposes none. */
export type LoadReader = (context: AdapterContext, models: DiscoveredModel[]) => Promise<LoadMetrics | null>;

/**
 * Any OpenAI-compatible server (llama.cpp, LM Studio, LocalAI, TGI, hosted
 * APIs): `/v1/models` lists what it serves. vLLM reuses this with its own
 * load reader.
 */
export function createOpenAICompatibleAdapter(kind: ServerKind, readLoad: LoadReader): ServerAdapter {
  return {
    kind,
    async probe(context): Promise<ProbeResult> {
      const models = parseModelList(await context.http.json(upstreamCall(context, '/v1/models', 'GET /v1/models')));
      const load = await readLoad(context, models).catch(() => null);
      return { models, load };
    },
    async probeEmbeddingDimension(context, modelId): Promise<number | null> {
      const body = await context.http.json(
        upstreamCall(context, '/v1/embeddings', 'POST /v1/embeddings', {
          method: 'POST',
          body: { model: modelId, input: 'dimension probe', encoding_format: 'float' },
        }),
      );
      return embeddingLength(body);
    },
  };
}

/** llama.cpp (found by detection) tells its load and context size; others tell nothing. */
async function readGenericLoad(context: AdapterContext, models: DiscoveredModel[]): Promise<LoadMetrics | null> {
  if (context.flavor !== 'llamacpp') return null;
  const { load, contextLength } = await readLlamaCppLoad(context);
  if (contextLength !== null) for (const model of models) model.contextLength ??= contextLength;
  load.loadedModels = models.map((model) => model.id);
  return load;
}

export const openAIAdapter: ServerAdapter = createOpenAICompatibleAdapter('openai', readGenericLoad);
