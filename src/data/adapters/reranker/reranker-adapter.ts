import type { ProbeResult } from '../server-adapter.ts';
import type { KindProbe } from '../server-kind-module.ts';
import { probeOpenAIStyle, readInfo } from '../tei/tei-adapter.ts';
import { teiModelDetails } from '../tei/tei-info.ts';

/**
 * Rerankers: TEI started with a reranker model (described by `/info`), or a
 * Cohere/Jina-style server (Infinity, Jina, vLLM --task score) that lists its
 * models on `/v1/models`. A probe never sends a rerank request: that costs compute.
 */
export const rerankerAdapter: KindProbe = {
  async probe(context): Promise<ProbeResult> {
    const info = await readInfo(context);
    if (info === null) return probeOpenAIStyle(context, 'rerank');
    return {
      models: [
        {
          id: info.modelId,
          capabilities: ['rerank'],
          embeddingDimension: null,
          contextLength: info.maxInputLength,
          status: 'loaded',
          details: teiModelDetails(info),
        },
      ],
      load: null,
    };
  },

  async probeEmbeddingDimension(): Promise<number | null> {
    return null;
  },
};
