import type { AdapterContext, DiscoveredModel, LoadMetrics, ProbeResult } from '../server-adapter.ts';
import { upstreamCall } from '../server-adapter.ts';
import type { KindProbe } from '../server-kind-module.ts';
import { embeddingLength, parseModelList } from './openai-models.ts';

/** Reads load from a server-specific endpoint; null when the server exposes none. */
export type LoadReader = (context: AdapterContext, models: DiscoveredModel[]) => Promise<LoadMetrics | null>;

const noLoad: LoadReader = async () => null;

/**
 * Any OpenAI-compatible server (LM Studio, LocalAI, TGI, hosted APIs):
 * `/v1/models` lists what it serves. vLLM and llama.cpp reuse this with
 * their own load readers.
 */
export function createOpenAICompatibleAdapter(readLoad: LoadReader = noLoad): KindProbe {
  return {
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
