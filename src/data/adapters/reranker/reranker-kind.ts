import { bearerHeaders, openAIPlan } from '../inference-mapping.ts';
import type { ServerKindModule } from '../server-kind-module.ts';
import { kindDefaults } from '../shared/kind-defaults.ts';
import { planRerank } from '../shared/rerank-plans.ts';
import { recogniseByModelNames, recogniseTei, speaksTei } from '../tei/embedding-kind.ts';
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
  plan(operation, body, modelId, server, model) {
    const headers = bearerHeaders(server.apiKey?.reveal() ?? null);
    // A TEI reranker registered as `reranker` by hand has no detection flavor: its probe's /info says it is TEI.
    if (speaksTei(server, model, false)) return planTei(operation, body, headers);
    return operation === 'rerank' ? planRerank('cohere', body, modelId, headers) : openAIPlan(operation, body, modelId, headers);
  },
};
