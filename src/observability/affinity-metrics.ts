import { Counter, Gauge, type Registry } from 'prom-client';
import type { AffinityResult } from '../data/routing/prefix-affinity.ts';

/**
 * Prefix-affinity routing: how each request's decision came out (hit: sent
 * where its prefix went before; miss: a new prefix placed by hash;
 * overloaded / unavailable: that deployment was passed over; none: no
 * prompt to go by), and how many block hashes are remembered.
 */
export function affinityMetrics(registry: Registry, remembered: () => number): (result: AffinityResult) => void {
  const registers = [registry];
  const decisions = new Counter({ name: 'llm_prefix_affinity_total', help: 'Prefix-affinity routing decisions by result.', labelNames: ['result'], registers });
  for (const result of ['hit', 'miss', 'overloaded', 'unavailable', 'none'] as const) decisions.inc({ result }, 0);
  new Gauge({
    name: 'llm_prefix_affinity_blocks',
    help: 'Prompt block hashes remembered with the deployment they were sent to.',
    registers,
    collect() {
      this.set(remembered());
    },
  });
  return (result) => decisions.inc({ result });
}
