import { bearerHeaders, openAIPlan } from '../inference-mapping.ts';
import type { ServerKindModule } from '../server-kind-module.ts';
import { kindDefaults } from '../shared/kind-defaults.ts';
import { recogniseByModelNames, recogniseTei } from '../tei/embedding-kind.ts';
import { planTei } from '../tei/tei-inference.ts';
import { rerankerAdapter } from './reranker-adapter.ts';

export const rerankerKind: ServerKindModule = {
  id: 'reranker',
  label: 'Reranker',
  description: 'TEI with a reranker model (native /rerank), or a Cohere/Jina-style /v1/rerank server.',
  ...kindDefaults,
  detection: [
    { paths: ['/info'], precedence: 90, recognise: (answers) => recogniseTei(answers, (task) => task !== 'embedding') },
    { paths: ['/v1/models'], precedence: 30, recognise: (answers) => recogniseByModelNames(answers, 'rerank') },
  ],
  probe: rerankerAdapter.probe,
  probeEmbeddingDimension: rerankerAdapter.probeEmbeddingDimension,
  plan(operation, body, modelId, server) {
    const headers = bearerHeaders(server.apiKey?.reveal() ?? null);
    return server.detection?.flavor === 'tei' ? planTei(operation, body, headers) : openAIPlan(operation, body, modelId, headers);
  },
};
