import { Counter, type Registry } from 'prom-client';

/** llm_hedged_requests_total{operation, outcome}: hedges sent (won, lost, failed) and refused by the retry budget (no_budget). */
export function hedgedRequestsCounter(registry: Registry): Counter<'operation' | 'outcome'> {
  return new Counter({
    name: 'llm_hedged_requests_total',
    help: 'Hedged requests by operation and outcome (won: the hedge answered first; lost: the first call did; failed: both failed; no_budget: the retry budget refused it).',
    labelNames: ['operation', 'outcome'],
    registers: [registry],
  });
}
