import { describe, expect, it } from 'vitest';
import { mapOllamaCapabilities } from '../../src/data/adapters/ollama/ollama-capabilities.ts';
import { architectureValue, parseTags } from '../../src/data/adapters/ollama/ollama-wire.ts';
import { embeddingLength, parseModelList } from '../../src/data/adapters/openai/openai-models.ts';
import { capabilitiesFromName } from '../../src/data/adapters/shared/capability-heuristics.ts';
import { parsePrometheusText, sumMetric } from '../../src/data/adapters/shared/prometheus-text.ts';
import { parseTeiInfo } from '../../src/data/adapters/tei/tei-info.ts';
import { parseVllmMetrics } from '../../src/data/adapters/vllm/vllm-metrics.ts';
import { UpstreamError } from '../../src/data/upstream/upstream-error.ts';

const vllmExposition = `# HELP vllm:num_requests_running Number of requests currently running on GPU.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="yi34b"} 3.0
vllm:num_requests_running{model_name="deepseek"} 1.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="yi34b"} 7.0
# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{model_name="yi34b"} 0.42
vllm:generation_tokens_total{model_name="yi34b"} 12345.0
python_gc_objects_collected_total{generation="0"} 1234.0
`;

describe('Prometheus text and vLLM metrics', () => {
  it('parses samples with labels, skipping comments and unreadable lines', () => {
    const samples = parsePrometheusText(`${vllmExposition}garbage line here\nmetric_with_escape{label="a\\"b"} 1\n`);
    expect(sumMetric(samples, 'vllm:num_requests_running')).toBe(4);
    expect(samples.find((sample) => sample.name === 'metric_with_escape')?.labels['label']).toBe('a"b');
  });

  it('reads running and waiting requests and KV-cache use from the old metric names', () => {
    expect(parseVllmMetrics(vllmExposition, ['yi34b'])).toMatchObject({
      runningRequests: 4,
      waitingRequests: 7,
      kvCacheUsage: 0.42,
      details: { generation_tokens_total: 12345 },
    });
  });

  it('prefers the V1 engine name vllm:kv_cache_usage_perc when present', () => {
    const text = 'vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.9\nvllm:num_requests_running{model_name="m"} 0\n';
    expect(parseVllmMetrics(text, []).kvCacheUsage).toBe(0.9);
    expect(parseVllmMetrics(text, []).waitingRequests).toBeNull();
  });

  it('reads the prefix-cache counters as prometheus_client exposes them (vllm:prefix_cache_*_total), ignoring their _created samples', () => {
    const text = [
      'vllm:prefix_cache_queries_total{engine="0",model_name="m"} 1200.0',
      'vllm:prefix_cache_queries_created{engine="0",model_name="m"} 1.7e9',
      'vllm:prefix_cache_hits_total{engine="0",model_name="m"} 900.0',
      // Deprecated in 0.9 but still exposed beside the new pair for a while: the same lookups, never added to them.
      'vllm:gpu_prefix_cache_queries_total{engine="0",model_name="m"} 1200.0',
      'vllm:gpu_prefix_cache_hits_total{engine="0",model_name="m"} 900.0',
      'process_start_time_seconds 1.7000001e9',
    ].join('\n');
    expect(parseVllmMetrics(text, [])).toMatchObject({ prefixCache: { hits: 900, queries: 1200 }, startedAtSeconds: 1.7000001e9 });
    expect(parseVllmMetrics('vllm:gpu_prefix_cache_queries_total{model_name="m"} 10\nvllm:gpu_prefix_cache_hits_total{model_name="m"} 4\n', []).prefixCache).toEqual({ hits: 4, queries: 10 });
    expect(parseVllmMetrics(vllmExposition, []).prefixCache).toBeNull();
  });

  it('counts as waiting for capacity the whole queue, or only its capacity share where vLLM splits it by reason', () => {
    expect(parseVllmMetrics(vllmExposition, []).waitingAtCapacity).toBe(7);
    const split = 'vllm:num_requests_waiting{model_name="m"} 5\nvllm:num_requests_waiting_by_reason{model_name="m",reason="capacity"} 2\nvllm:num_requests_waiting_by_reason{model_name="m",reason="deferred"} 3\n';
    expect(parseVllmMetrics(split, []).waitingAtCapacity).toBe(2);
    const deferredOnly = 'vllm:num_requests_waiting{model_name="m"} 3\nvllm:num_requests_waiting_by_reason{model_name="m",reason="deferred"} 3\n';
    expect(parseVllmMetrics(deferredOnly, []).waitingAtCapacity).toBe(0);
  });
});

describe('Ollama wire', () => {
  it("maps Ollama's completion capability to chat and completion, and insert to code", () => {
    expect(mapOllamaCapabilities(['completion', 'tools'], 'mixtral:latest')).toEqual(['chat', 'completion', 'tools']);
    expect(mapOllamaCapabilities(['embedding'], 'nomic-embed-text:latest')).toEqual(['embedding']);
    expect(mapOllamaCapabilities(['completion', 'vision'], 'llava:7b')).toEqual(['chat', 'completion', 'vision']);
    expect(mapOllamaCapabilities(['completion', 'insert'], 'qwen2.5-coder:7b')).toEqual(['chat', 'completion', 'code']);
  });

  it('falls back to the name on servers too old to report capabilities', () => {
    expect(mapOllamaCapabilities(null, 'nomic-embed-text:latest')).toEqual(['embedding']);
    expect(mapOllamaCapabilities([], 'deepcoder:14b')).toEqual(['chat', 'completion', 'code']);
  });

  it('reads architecture-prefixed model_info values', () => {
    const info = { 'general.architecture': 'llama', 'llama.context_length': 8192, 'llama.embedding_length': 4096 };
    expect(architectureValue(info, 'context_length')).toBe(8192);
    expect(architectureValue({ 'bert.embedding_length': 384 }, 'embedding_length')).toBe(384);
  });

  it('rejects a tags answer without a models list as a protocol error', () => {
    expect(() => parseTags({ nope: [] })).toThrow(UpstreamError);
    expect(parseTags({ models: [{ name: 'phi3:latest', digest: 'abc', details: { family: 'phi3' } }, 'junk'] })).toEqual([
      expect.objectContaining({ name: 'phi3:latest', digest: 'abc', family: 'phi3' }),
    ]);
  });
});

describe('OpenAI-style model lists', () => {
  it('reads context length from vLLM max_model_len and llama.cpp meta', () => {
    const models = parseModelList({
      object: 'list',
      data: [
        { id: 'yi34b', object: 'model', owned_by: 'vllm', max_model_len: 4096 },
        { id: 'local.gguf', object: 'model', owned_by: 'llamacpp', meta: { n_ctx_train: 8192, n_embd: 2048 } },
        { id: 'BAAI/bge-small-en-v1.5', object: 'model' },
        { object: 'model' },
      ],
    });
    expect(models.map((model) => [model.id, model.contextLength, model.capabilities])).toEqual([
      ['yi34b', 4096, ['chat', 'completion']],
      ['local.gguf', 8192, ['chat', 'completion']],
      ['BAAI/bge-small-en-v1.5', null, ['embedding']],
    ]);
    expect(models[1]?.embeddingDimension).toBe(2048);
  });

  it('measures embedding length from float and base64 answers', () => {
    expect(embeddingLength({ data: [{ embedding: [0.1, 0.2, 0.3] }] })).toBe(3);
    expect(embeddingLength({ data: [{ embedding: Buffer.from(new Float32Array(384).buffer).toString('base64') }] })).toBe(384);
  });

  it('guesses capabilities from names: code, embedding, rerank, vision', () => {
    expect(capabilitiesFromName('deepseek-coder-6.7b')).toContain('code');
    expect(capabilitiesFromName('bge-reranker-v2-m3')).toEqual(['rerank']);
    expect(capabilitiesFromName('intfloat/e5-large-v2')).toEqual(['embedding']);
    expect(capabilitiesFromName('Qwen/Qwen2.5-VL-7B-Instruct')).toContain('vision');
    expect(capabilitiesFromName('mixtral')).toEqual(['chat', 'completion']);
  });
});

describe('TEI /info', () => {
  it('tells an embedder from a reranker by model_type', () => {
    expect(parseTeiInfo({ model_id: 'BAAI/bge-small', model_type: { embedding: { pooling: 'cls' } }, max_input_length: 512 })).toMatchObject({
      task: 'embedding',
      maxInputLength: 512,
    });
    expect(parseTeiInfo({ model_id: 'BAAI/bge-reranker', model_type: { reranker: { id2label: {} } } }).task).toBe('reranker');
    expect(() => parseTeiInfo({ model_id: 'x' })).toThrow(UpstreamError);
  });
});
