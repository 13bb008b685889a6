import type { LoadMetrics } from '../server-adapter.ts';
import { maxMetric, parsePrometheusText, sumMetric } from '../shared/prometheus-text.ts';

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
  return {
    runningRequests: sumMetric(samples, 'vllm:num_requests_running'),
    waitingRequests: sumMetric(samples, 'vllm:num_requests_waiting'),
    kvCacheUsage: maxMetric(samples, 'vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'),
    loadedModels,
    memoryBytes: null,
    details,
  };
}
