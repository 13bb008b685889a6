// Flavour-specific shapes of the OpenAI-compatible fake: model lists, error
// bodies, and the vLLM / llama.cpp side endpoints (/metrics, /props, /slots).
import type { FakeModel } from './fake-server.ts';
import { hasCapability } from './fake-server.ts';
import { promFamily, randomId, unixSeconds } from './fake-util.ts';
import type { JsonRecord } from './fake-util.ts';

export type OpenAIFlavor = 'vllm' | 'llamacpp' | 'generic';

export const DEFAULT_OPENAI_MODELS: FakeModel[] = [
  { id: 'yi34b', capabilities: ['completion'], contextLength: 4096, embeddingDimension: 7168, parameterSize: '34.4B' },
  { id: 'deepseek', capabilities: ['completion'], contextLength: 16384, embeddingDimension: 4096, parameterSize: '6.7B' },
  { id: 'deepcoder', capabilities: ['completion'], contextLength: 16384, embeddingDimension: 5120, parameterSize: '14.8B' },
  { id: 'imp', capabilities: ['completion'], contextLength: 2048, embeddingDimension: 2560, parameterSize: '3B' },
];

/** Live numbers the metrics/slots endpoints report for one model. */
export interface ModelStats {
  running: number;
  waiting: number;
  kvCacheUsage: number;
  promptTokens: number;
  generationTokens: number;
  successes: number;
  /** Prompt blocks found in the prefix cache, and looked up (vLLM counts tokens; the fake counts blocks). */
  prefixHits: number;
  prefixQueries: number;
}

const VLLM_TYPES: Record<number, string> = { 400: 'BadRequestError', 401: 'Unauthorized', 404: 'NotFoundError', 500: 'InternalServerError', 503: 'ServiceUnavailableError' };
const LLAMACPP_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  501: 'not_supported_error',
  503: 'unavailable_error',
};

export function flavorError(flavor: OpenAIFlavor, status: number, message: string, extra: JsonRecord = {}): JsonRecord {
  if (flavor === 'vllm') return { error: { message, type: VLLM_TYPES[status] ?? 'InternalServerError', param: null, code: status, ...extra } };
  if (flavor === 'llamacpp') return { error: { code: status, message, type: LLAMACPP_TYPES[status] ?? 'server_error', ...extra } };
  const type = status >= 500 ? 'server_error' : 'invalid_request_error';
  return { error: { message, type, param: null, code: null, ...extra } };
}

function paramCount(model: FakeModel): number {
  const match = /^([\d.]+)([MB])$/.exec(model.parameterSize ?? '7B');
  if (match === null) return 7e9;
  return Math.round(Number(match[1]) * (match[2] === 'M' ? 1e6 : 1e9));
}

export function modelList(flavor: OpenAIFlavor, models: FakeModel[]): JsonRecord {
  const created = unixSeconds();
  if (flavor === 'llamacpp') {
    return {
      models: models.map((m) => ({
        name: m.id,
        model: m.id,
        modified_at: '',
        size: '',
        digest: '',
        type: 'model',
        description: '',
        tags: [''],
        capabilities: hasCapability(m, 'embedding') ? ['embedding'] : ['completion'],
        parameters: '',
        details: { parent_model: '', format: 'gguf', family: '', families: [''], parameter_size: '', quantization_level: '' },
      })),
      object: 'list',
      data: models.map((m) => ({
        id: m.id,
        object: 'model',
        created,
        owned_by: 'llamacpp',
        meta: {
          vocab_type: 2,
          n_vocab: 128256,
          n_ctx_train: m.contextLength ?? 4096,
          n_embd: m.embeddingDimension ?? 4096,
          n_params: paramCount(m),
          size: m.sizeBytes ?? Math.round(paramCount(m) * 0.6),
        },
      })),
    };
  }
  if (flavor === 'vllm') {
    return {
      object: 'list',
      data: models.map((m) => ({
        id: m.id,
        object: 'model',
        created,
        owned_by: 'vllm',
        root: m.root ?? m.id,
        parent: m.parent ?? null,
        max_model_len: m.contextLength ?? 4096,
        permission: [
          {
            id: `modelperm-${randomId(32)}`,
            object: 'model_permission',
            created,
            allow_create_engine: false,
            allow_sampling: true,
            allow_logprobs: true,
            allow_search_indices: false,
            allow_view: true,
            allow_fine_tuning: false,
            organization: '*',
            group: null,
            is_blocking: false,
          },
        ],
      })),
    };
  }
  return { object: 'list', data: models.map((m) => ({ id: m.id, object: 'model', created, owned_by: 'system' })) };
}

const PROCESS_START = unixSeconds();

export function vllmMetrics(models: FakeModel[], stats: (model: FakeModel) => ModelStats): string {
  const labels = (m: FakeModel): Record<string, string> => ({ engine: '0', model_name: m.id });
  const per = (pick: (s: ModelStats) => number) => models.map((m) => ({ labels: labels(m), value: pick(stats(m)) }));
  const counter = (name: string, help: string, pick: (s: ModelStats) => number): string =>
    promFamily(`${name}_total`, 'counter', help, [
      ...per(pick),
      ...models.map((m) => ({ name: `${name}_created`, labels: labels(m), value: PROCESS_START })),
    ], true);
  return [
    promFamily('python_gc_objects_collected_total', 'counter', 'Objects collected during gc', [0, 1, 2].map((g) => ({ labels: { generation: String(g) }, value: [18231, 4210, 612][g] ?? 0 })), true),
    promFamily('python_gc_collections_total', 'counter', 'Number of times this generation was collected', [0, 1, 2].map((g) => ({ labels: { generation: String(g) }, value: [1204, 109, 7][g] ?? 0 })), true),
    promFamily('python_info', 'gauge', 'Python platform information', [{ labels: { implementation: 'CPython', major: '3', minor: '12', patchlevel: '11', version: '3.12.11' }, value: 1 }], true),
    promFamily('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', [{ value: 2.1474836e9 }], true),
    promFamily('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.', [{ value: PROCESS_START }], true),
    promFamily('vllm:num_requests_running', 'gauge', 'Number of requests in model execution batches.', per((s) => s.running), true),
    promFamily('vllm:num_requests_waiting', 'gauge', 'Number of requests waiting to be processed.', per((s) => s.waiting), true),
    promFamily('vllm:gpu_cache_usage_perc', 'gauge', 'GPU KV-cache usage. 1 means 100 percent usage.', per((s) => s.kvCacheUsage), true),
    promFamily('vllm:kv_cache_usage_perc', 'gauge', 'KV-cache usage. 1 means 100 percent usage.', per((s) => s.kvCacheUsage), true),
    counter('vllm:prompt_tokens', 'Number of prefill tokens processed.', (s) => s.promptTokens),
    counter('vllm:generation_tokens', 'Number of generation tokens processed.', (s) => s.generationTokens),
    counter('vllm:prefix_cache_queries', 'Prefix cache queries, in terms of number of queried tokens.', (s) => s.prefixQueries),
    counter('vllm:prefix_cache_hits', 'Prefix cache hits, in terms of number of cached tokens.', (s) => s.prefixHits),
    promFamily('vllm:request_success_total', 'counter', 'Count of successfully processed requests.', models.map((m) => ({ labels: { engine: '0', finished_reason: 'stop', model_name: m.id }, value: stats(m).successes })), true),
  ].join('');
}

export const LLAMACPP_SLOTS = 4;

export function llamacppMetrics(stats: ModelStats): string {
  return [
    promFamily('llamacpp:prompt_tokens_total', 'counter', 'Number of prompt tokens processed.', [{ value: stats.promptTokens }]),
    promFamily('llamacpp:prompt_seconds_total', 'counter', 'Prompt process time', [{ value: stats.promptTokens * 0.001 }]),
    promFamily('llamacpp:tokens_predicted_total', 'counter', 'Number of generation tokens processed.', [{ value: stats.generationTokens }]),
    promFamily('llamacpp:tokens_predicted_seconds_total', 'counter', 'Predict process time', [{ value: stats.generationTokens * 0.02 }]),
    promFamily('llamacpp:n_decode_total', 'counter', 'Total number of llama_decode() calls', [{ value: stats.generationTokens }]),
    promFamily('llamacpp:n_busy_slots_per_decode', 'counter', 'Average number of busy slots per llama_decode() call', [{ value: stats.running > 0 ? stats.running : 0 }]),
    promFamily('llamacpp:prompt_tokens_seconds', 'gauge', 'Average prompt throughput in tokens/s.', [{ value: 1000 }]),
    promFamily('llamacpp:predicted_tokens_seconds', 'gauge', 'Average generation throughput in tokens/s.', [{ value: 50 }]),
    promFamily('llamacpp:kv_cache_usage_ratio', 'gauge', 'KV-cache usage. 1 means 100 percent usage.', [{ value: stats.kvCacheUsage }]),
    promFamily('llamacpp:kv_cache_tokens', 'gauge', 'KV-cache tokens.', [{ value: stats.promptTokens + stats.generationTokens }]),
    promFamily('llamacpp:requests_processing', 'gauge', 'Number of requests processing.', [{ value: stats.running }]),
    promFamily('llamacpp:requests_deferred', 'gauge', 'Number of requests deferred.', [{ value: stats.waiting }]),
  ].join('');
}

function slot(id: number, nCtx: number, processing: boolean): JsonRecord {
  return {
    id,
    id_task: processing ? 1000 + id : -1,
    n_ctx: nCtx,
    speculative: false,
    is_processing: processing,
    params: { n_predict: -1, seed: 4294967295, temperature: 0.8, top_k: 40, top_p: 0.95, min_p: 0.05, stream: true },
    next_token: { has_next_token: processing, has_new_line: false, n_remain: -1, n_decoded: 0, stopping_word: '' },
  };
}

export function llamacppSlots(model: FakeModel, running: number): JsonRecord[] {
  return Array.from({ length: LLAMACPP_SLOTS }, (_, i) => slot(i, model.contextLength ?? 4096, i < running));
}

export function llamacppProps(model: FakeModel): JsonRecord {
  return {
    default_generation_settings: slot(0, model.contextLength ?? 4096, false),
    total_slots: LLAMACPP_SLOTS,
    model_path: `/models/${model.id}.gguf`,
    chat_template: "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
    modalities: { vision: hasCapability(model, 'vision'), audio: false },
    build_info: 'b6000-fake',
  };
}
