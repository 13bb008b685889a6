import type { ModelServer } from '../../../domain/model-server.ts';
import type { NativeRequest, UpstreamPlan } from '../inference-mapping.ts';
import type { KindConfigCheck, KindConfigField, ServerKindModule, TokenUsage } from '../server-kind-module.ts';

/**
 * Client APIs a server may serve itself besides OpenAI's Chat Completions:
 * Anthropic's Messages (`/v1/messages`: recent vLLM, llama.cpp and Ollama)
 * and OpenAI's Responses (`/v1/responses`: vLLM, Ollama). Probing for them
 * would mean POSTing to a model, which a probe never does, so an operator
 * states them on the server (`kind_config.native_apis`); requests in those
 * APIs then pass through untouched (decision 0024).
 */
export const nativeApis = ['anthropic', 'responses'] as const;
export type NativeApi = (typeof nativeApis)[number];

const paths: Record<NativeApi, string> = { anthropic: '/v1/messages', responses: '/v1/responses' };

export const nativeApisField: KindConfigField = {
  name: 'native_apis',
  label: 'Serves natively (comma-separated)',
  type: 'list',
  required: false,
  placeholder: 'anthropic, responses',
  help: 'Client APIs this server serves itself: anthropic (/v1/messages), responses (/v1/responses). Their requests then pass through untouched.',
};

/** `kind_config` of the kinds that may serve other APIs natively: only `native_apis`, a list of known names. */
export const nativeApisConfig: NonNullable<ServerKindModule['config']> = {
  fields: [nativeApisField],
  optional: true,
  check(raw: unknown): KindConfigCheck {
    if (raw === null || raw === undefined) return { ok: true, value: {} };
    if (typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, field: '', message: 'kind_config must be an object.' };
    const record = raw as Record<string, unknown>;
    for (const key of Object.keys(record)) if (key !== 'native_apis') return { ok: false, field: key, message: `kind_config.${key} is not a setting of this kind; it takes native_apis only.` };
    const apis = record['native_apis'];
    if (apis === undefined || apis === null) return { ok: true, value: {} };
    if (!Array.isArray(apis) || !apis.every((api): api is NativeApi => typeof api === 'string' && (nativeApis as readonly string[]).includes(api))) {
      return { ok: false, field: 'native_apis', message: `native_apis must be a list of: ${nativeApis.join(', ')}.` };
    }
    return { ok: true, value: { native_apis: [...new Set(apis)] } };
  },
};

export function servesNatively(server: Pick<ModelServer, 'kindConfig'>, api: string): boolean {
  const apis = server.kindConfig?.['native_apis'];
  return Array.isArray(apis) && apis.includes(api);
}

/** The caller's request untouched (but for the served model's id), when the server states it speaks that API. */
export function planStatedNative(request: NativeRequest, modelId: string, server: ModelServer, headers: Record<string, string>): UpstreamPlan | null {
  if (request.api === 'ollama' || !servesNatively(server, request.api)) return null;
  return { path: paths[request.api], headers, body: { ...request.body, model: modelId }, native: true, readUsage: nativeUsage, streamUsage: nativeStreamUsage() };
}

/** Anthropic's and Responses' usage, `input_tokens` and `output_tokens`, in a whole answer. */
function nativeUsage(answer: Buffer): TokenUsage {
  try {
    const parsed = JSON.parse(answer.toString('utf8')) as { usage?: { input_tokens?: unknown; output_tokens?: unknown } };
    return { promptTokens: count(parsed.usage?.input_tokens), completionTokens: count(parsed.usage?.output_tokens) };
  } catch {
    return { promptTokens: 0, completionTokens: 0 };
  }
}

/**
 * In a stream, the latest counts win: Anthropic's message_delta (cumulative) or
 * the Responses API's response.completed carry both; looked for only where
 * `output_tokens` appears.
 */
function nativeStreamUsage(): (events: Buffer) => TokenUsage | null {
  // Anthropic states the input in message_start and the output in message_delta: kept across the stream's writes.
  let prompt: number | null = null;
  let completion: number | null = null;
  return (events) => {
    if (!events.includes('"output_tokens"')) return null;
    for (const line of events.toString('utf8').split('\n')) {
      if (!line.startsWith('data:') || !line.includes('"output_tokens"')) continue;
      try {
        const event = JSON.parse(line.slice(5)) as { usage?: Usage; message?: { usage?: Usage }; response?: { usage?: Usage } };
        const usage = event.usage ?? event.message?.usage ?? event.response?.usage;
        if (typeof usage?.input_tokens === 'number') prompt = usage.input_tokens;
        if (typeof usage?.output_tokens === 'number') completion = usage.output_tokens;
      } catch {
        // An event the relay's own check will refuse.
      }
    }
    return completion === null ? null : { promptTokens: prompt ?? 0, completionTokens: completion };
  };
}

interface Usage {
  input_tokens?: unknown;
  output_tokens?: unknown;
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}
