import { Gauge, type Registry } from 'prom-client';

/** What the gauge reads of each server: its name and the hit ratio its last probes gave (null: none). */
export interface PrefixCacheReading {
  name: string;
  hitRatio: number | null;
}

/**
 * `llm_server_prefix_cache_hit_ratio{server}`: the share of prompt tokens a
 * server found in its prefix cache over its latest probe interval (vLLM's
 * prefix_cache_hits / prefix_cache_queries), so an operator sees whether
 * prefix-affinity routing pays. Read when Prometheus scrapes; a server that
 * reports no prefix cache, or is offline, has no series.
 */
export function prefixCacheMetrics(metrics: Registry, servers: () => Iterable<PrefixCacheReading>): void {
  new Gauge({
    name: 'llm_server_prefix_cache_hit_ratio',
    help: 'Share (0..1) of looked-up prompt tokens each server found in its prefix cache over its latest probe interval (vLLM prefix_cache_hits / prefix_cache_queries); no series for servers that report none.',
    labelNames: ['server'],
    registers: [metrics],
    collect() {
      // Servers are few (one series each at most): starting afresh each scrape drops removed and renamed ones.
      this.reset();
      for (const server of servers()) if (server.hitRatio !== null) this.set({ server: server.name }, server.hitRatio);
    },
  });
}
