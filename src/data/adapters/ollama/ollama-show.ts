import type { ModelServer } from '../../../domain/model-server.ts';
import type { UpstreamHttp } from '../../upstream/upstream-http.ts';
import { adapterContextFor } from '../adapter-context.ts';
import { upstreamCall } from '../server-adapter.ts';
import { isRecord } from '../shared/wire-values.ts';

/**
 * An Ollama server's own `/api/show` answer for one of its models (license,
 * modelfile, parameters, template, model_info, capabilities): what Ollama's
 * clients read about a model, exactly as Ollama says it. Null when the server
 * does not answer with an object in time.
 */
export async function showFromOllama(server: ModelServer, modelId: string, http: UpstreamHttp, timeoutMs: number, signal: AbortSignal): Promise<Record<string, unknown> | null> {
  try {
    const answer = await http.json(upstreamCall(adapterContextFor(server, http, timeoutMs, signal), '/api/show', 'POST /api/show', { method: 'POST', body: { model: modelId } }));
    return isRecord(answer) ? answer : null;
  } catch {
    return null;
  }
}
