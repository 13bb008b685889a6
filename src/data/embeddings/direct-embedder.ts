import type { InferenceProxy } from '../proxy/inference-proxy.ts';
import type { EmbedRequest, EmbedResult, Embedder } from './embedder.ts';

/** The plainest Embedder: one `/v1/embeddings`-shaped call through the proxy, no cache, no splitting. */
export class DirectEmbedder implements Embedder {
  readonly #proxy: InferenceProxy;

  constructor(proxy: InferenceProxy) {
    this.#proxy = proxy;
  }

  async embed(request: EmbedRequest): Promise<EmbedResult> {
    const answer = await this.#proxy.callJson({
      operation: 'embeddings',
      body: { input: [...request.inputs], ...(request.dimensions === undefined ? {} : { dimensions: request.dimensions }) },
      modelName: request.model,
      requestId: request.requestId,
      keyId: request.keyId,
      observed: request.recorded ?? true,
      ...(request.isAllowed === undefined ? {} : { isAllowed: request.isAllowed }),
      ...(request.signal === undefined ? {} : { signal: request.signal }),
      ...(request.log === undefined ? {} : { log: request.log }),
    });
    const vectors = vectorsOf(answer.body, request.inputs.length);
    return {
      vectors,
      dimension: vectors[0]?.length ?? 0,
      servedModel: answer.deployment.model.modelId,
      serverName: answer.deployment.server.name,
      promptTokens: answer.outcome.promptTokens,
      cachedCount: 0,
      hedged: false,
    };
  }
}

/** The vectors of an OpenAI embeddings answer, ordered by `index`. */
export function vectorsOf(body: unknown, expected: number): number[][] {
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data) || data.length !== expected) throw new Error(`the embeddings answer holds ${Array.isArray(data) ? data.length : 'no'} vectors for ${expected} inputs`);
  const vectors: number[][] = new Array(expected);
  data.forEach((entry: { index?: unknown; embedding?: unknown }, position) => {
    const index = typeof entry.index === 'number' ? entry.index : position;
    if (!Array.isArray(entry.embedding)) throw new Error('an embedding in the answer is not a list of numbers');
    vectors[index] = entry.embedding as number[];
  });
  return vectors;
}
