import type { ServerKind } from '../../domain/server-kind.ts';
import type { AdapterContext } from '../../data/adapters/server-adapter.ts';
import { upstreamCall } from '../../data/adapters/server-adapter.ts';
import { parseTeiInfo } from '../../data/adapters/tei/tei-info.ts';
import { arrayField, isRecord, recordField, stringField } from '../../data/adapters/shared/wire-values.ts';
import { UpstreamError } from '../../data/upstream/upstream-error.ts';
import { capabilitiesFromName } from '../../data/adapters/shared/capability-heuristics.ts';

export interface Detection {
  kind: ServerKind;
  flavor: string | null;
  /** The answer that decided it, e.g. "GET /api/version". */
  detected_by: string;
  version: string | null;
}

type Answer = { ok: true; body: unknown; text: string } | { ok: false; error: UpstreamError | null; status: number | null };

/**
 * Finds what kind of server answers at a URL by asking each kind's
 * signature endpoint at once (all are free: no generation), then deciding
 * by the most specific answer.
 */
export async function detectServerKind(context: AdapterContext): Promise<Detection> {
  const ask = async (path: string): Promise<Answer> => {
    try {
      const response = await context.http.text(upstreamCall(context, path, `GET ${path}`));
      if (response.status < 200 || response.status >= 300) return { ok: false, error: null, status: response.status };
      return { ok: true, body: tryParse(response.text), text: response.text };
    } catch (error) {
      return { ok: false, error: error instanceof UpstreamError ? error : null, status: null };
    }
  };
  const [version, info, metrics, models, props] = await Promise.all(
    ['/api/version', '/info', '/metrics', '/v1/models', '/props'].map(ask),
  ) as [Answer, Answer, Answer, Answer, Answer];

  if (version.ok && isRecord(version.body) && stringField(version.body, 'version') !== null) {
    return { kind: 'ollama', flavor: null, detected_by: 'GET /api/version', version: stringField(version.body, 'version') };
  }
  if (info.ok) {
    try {
      const tei = parseTeiInfo(info.body);
      return { kind: tei.task === 'embedding' ? 'embedding' : 'reranker', flavor: 'tei', detected_by: 'GET /info', version: tei.version };
    } catch {
      // Not TEI's /info; keep looking.
    }
  }
  const owners = modelOwners(models);
  if ((metrics.ok && /^vllm:/m.test(metrics.text)) || owners.has('vllm')) {
    return { kind: 'vllm', flavor: null, detected_by: owners.has('vllm') ? 'GET /v1/models' : 'GET /metrics', version: null };
  }
  if (props.ok && isRecord(props.body) && recordField(props.body, 'default_generation_settings') !== null) {
    return { kind: 'openai', flavor: 'llamacpp', detected_by: 'GET /props', version: null };
  }
  if (models.ok && isRecord(models.body) && arrayField(models.body, 'data') !== null) {
    return { kind: kindFromModelNames(models.body), flavor: owners.has('llamacpp') ? 'llamacpp' : null, detected_by: 'GET /v1/models', version: null };
  }
  throw new DetectionError(explainFailure([version, info, metrics, models, props], context.apiKey !== null));
}

export class DetectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DetectionError';
  }
}

/** A server whose every model is a reranker (or an embedder) is one; otherwise it is a general OpenAI-style server. */
function kindFromModelNames(body: Record<string, unknown>): ServerKind {
  const ids = (arrayField(body, 'data') ?? []).flatMap((entry) => (isRecord(entry) && typeof entry['id'] === 'string' ? [entry['id']] : []));
  if (ids.length === 0) return 'openai';
  const kinds = new Set(ids.map((id) => capabilitiesFromName(id)[0]));
  if (kinds.size === 1 && kinds.has('rerank')) return 'reranker';
  if (kinds.size === 1 && kinds.has('embedding')) return 'embedding';
  return 'openai';
}

function modelOwners(answer: Answer): Set<string> {
  const owners = new Set<string>();
  if (!answer.ok || !isRecord(answer.body)) return owners;
  for (const entry of arrayField(answer.body, 'data') ?? []) {
    if (isRecord(entry)) {
      const owner = stringField(entry, 'owned_by');
      if (owner !== null) owners.add(owner);
    }
  }
  return owners;
}

function explainFailure(answers: Answer[], hasKey: boolean): string {
  const failures = answers.filter((answer): answer is Extract<Answer, { ok: false }> => !answer.ok);
  const authStatus = failures.find((answer) => answer.status === 401 || answer.status === 403)?.status;
  if (authStatus !== undefined) {
    return hasKey ? `the server rejected the API key (HTTP ${authStatus})` : `the server requires an API key (HTTP ${authStatus})`;
  }
  const transport = failures.find((answer) => answer.error !== null)?.error;
  if (transport !== undefined && transport !== null && failures.every((answer) => answer.error !== null)) {
    return transport.message.replace(/^GET \S+: /, '');
  }
  return 'no known model-server API answered (tried /api/version, /info, /metrics, /v1/models, /props)';
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
