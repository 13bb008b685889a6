import type { ModelServer, ServerModel } from '../../../domain/model-server.ts';
import { bearerHeaders, openAIPlan } from '../inference-mapping.ts';
import { planRerank } from '../shared/rerank-plans.ts';
import type { DetectionAnswers, DetectionMatch, ServerKindModule } from '../server-kind-module.ts';
import { capabilitiesFromName } from '../shared/capability-heuristics.ts';
import { kindDefaults } from '../shared/kind-defaults.ts';
import { listedModelIds } from '../shared/model-list-signature.ts';
import { teiAdapter } from './tei-adapter.ts';
import { planTei } from './tei-inference.ts';
import { parseTeiInfo, serverApiDetail, type TeiInfo } from './tei-info.ts';

/** TEI's `/info` when it describes a model of the given sort. */
export function recogniseTei(answers: DetectionAnswers, wanted: (task: TeiInfo['task']) => boolean): DetectionMatch | null {
  const info = answers.get('/info');
  if (info?.ok !== true) return null;
  try {
    const tei = parseTeiInfo(info.body);
    return wanted(tei.task) ? { flavor: 'tei', detectedBy: 'GET /info', version: tei.version } : null;
  } catch {
    return null; // Not TEI's /info.
  }
}

/**
 * True when the server answers this model on TEI's native API. The probe
 * settles it (`/info` answered or not: `details.api`), whether the server was
 * detected or its type given by hand; only a model stored before the probe
 * recorded it falls back to detection, where an `embedding` server added by
 * hand (`isTeiByDefault`) is most often TEI.
 */
export function speaksTei(server: Pick<ModelServer, 'detection'>, model: Pick<ServerModel, 'details'> | undefined, isTeiByDefault: boolean): boolean {
  const api = model?.details[serverApiDetail];
  if (api === 'tei' || api === 'openai') return api === 'tei';
  const flavor = server.detection?.flavor ?? null;
  return flavor === 'tei' || (flavor === null && isTeiByDefault);
}

/** A server whose every listed model is named like one capability serves only that. */
export function recogniseByModelNames(answers: DetectionAnswers, capability: 'embedding' | 'rerank'): DetectionMatch | null {
  const ids = listedModelIds(answers.get('/v1/models'));
  if (ids.length === 0 || !ids.every((id) => capabilitiesFromName(id)[0] === capability)) return null;
  return { flavor: null, detectedBy: 'GET /v1/models', version: null };
}

/**
 * Embedding servers: Hugging Face TEI (its native /embed, described by /info),
 * or Infinity and friends, which list /v1/models and speak OpenAI's /v1/embeddings.
 */
export const embeddingKind: ServerKindModule = {
  id: 'embedding',
  label: 'Embedding server',
  description: 'Text Embeddings Inference (native /embed), or any OpenAI-style embedding server.',
  ...kindDefaults,
  detection: [
    { paths: ['/info'], precedence: 90, recognise: (answers) => recogniseTei(answers, (task) => task === 'embedding') },
    { paths: ['/v1/models'], precedence: 30, recognise: (answers) => recogniseByModelNames(answers, 'embedding') },
  ],
  probe: teiAdapter.probe,
  probeEmbeddingDimension: teiAdapter.probeEmbeddingDimension,
  plan(operation, body, modelId, server, model) {
    const headers = bearerHeaders(server.apiKey?.reveal() ?? null);
    if (speaksTei(server, model, true)) return planTei(operation, body, headers);
    return operation === 'rerank' ? planRerank('cohere', body, modelId, headers) : openAIPlan(operation, body, modelId, headers);
  },
};
