import type { LoadMetrics } from '../server-adapter.ts';
import { maxMetric, parsePrometheusText, sumMetric, type PrometheusSample } from '../shared/prometheus-text.ts';

/**
 * vLLM's Prometheus `/metrics`. Names changed across versions: the V1 engine
 * reports `vllm:kv_cache_usage_perc`, older releases `vllm:gpu_cache_usage_perc`
 * (both 0..1 despite the name). We read whichever is present.
 */
export function parseVllmMetrics(text: string, loadedModels: string[]): LoadMetrics {
  const samples = parsePrometheusText(text);
  const details: Record<string, number> = {};
  const promptTokens = sumMetric(samples, 'vllm:prompt_tokens_total');
  const generationTokens = sumMetric(samples, 'vllm:generation_tokens_total');
  const preemptions = sumMetric(samples, 'vllm:num_preemptions_total');
  if (promptTokens !== null) details['prompt_tokens_total'] = promptTokens;
  if (generationTokens !== null) details['generation_tokens_total'] = generationTokens;
  if (preemptions !== null) details['preemptions_total'] = preemptions;
  const waiting = sumMetric(samples, 'vllm:num_requests_waiting');
  return {
    runningRequests: sumMetric(samples, 'vllm:num_requests_running'),
    waitingRequests: waiting,
    kvCacheUsage: maxMetric(samples, 'vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'),
    loadedModels,
    memoryBytes: null,
    details,
    // Newer releases split the queue by reason; only `capacity` means the scheduler is full (`deferred` waits on something else).
    waitingAtCapacity: waitingForCapacity(samples) ?? waiting,
    prefixCache: prefixCacheCounters(samples),
    startedAtSeconds: maxMetric(samples, 'process_start_time_seconds'),
  };
}

/**
 * Prefix-cache lookups and hits in tokens. vLLM 0.9 renamed the counters
 * `vllm:prefix_cache_{queries,hits}` (exposed with prometheus_client's
 * `_total`) and kept the old `vllm:gpu_prefix_cache_…` for a while: one pair
 * is read, never both (they count the same lookups).
 */
function prefixCacheCounters(samples: PrometheusSample[]): { hits: number; queries: number } | null {
  for (const prefix of ['vllm:prefix_cache', 'vllm:gpu_prefix_cache']) {
    const queries = sumMetric(samples, `${prefix}_queries_total`);
    const hits = sumMetric(samples, `${prefix}_hits_total`);
    if (queries !== null && hits !== null) return { hits, queries };
  }
  return null;
}

/** The `capacity` share of `vllm:num_requests_waiting_by_reason`; null when the server does not split its queue. */
function waitingForCapacity(samples: PrometheusSample[]): number | null {
  let total: number | null = null;
  for (const sample of samples) {
    if (sample.name !== 'vllm:num_requests_waiting_by_reason' || !Number.isFinite(sample.value)) continue;
    total = (total ?? 0) + (sample.labels['reason'] === 'capacity' ? sample.value : 0);
  }
  return total;
}
