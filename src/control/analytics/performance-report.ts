import { groupBy, summarize, type UsageRow, type UsageStatistics } from './usage-statistics.ts';

export type Rating = 'excellent' | 'good' | 'fair' | 'poor' | 'insufficient_data';

const minimumRequests = 10;

/** A rating from success rate and p95 latency; too few requests earn no rating. */
export function rate(stats: UsageStatistics): Rating {
  if (stats.requests < minimumRequests || stats.success_rate === null) return 'insufficient_data';
  const p95 = stats.p95_latency_ms ?? Number.POSITIVE_INFINITY;
  if (stats.success_rate >= 0.99 && p95 <= 2_000) return 'excellent';
  if (stats.success_rate >= 0.97 && p95 <= 5_000) return 'good';
  if (stats.success_rate >= 0.9 && p95 <= 10_000) return 'fair';
  return 'poor';
}

export interface ModelPerformance {
  model: string;
  rating: Rating;
  statistics: UsageStatistics;
  servers: Array<{ server: string; statistics: UsageStatistics }>;
  suggestions: string[];
}

/** Per model: figures, a rating, and concrete suggestions drawn from comparing its servers. */
export function performanceReport(rows: readonly UsageRow[], serverName: (id: string) => string): ModelPerformance[] {
  const byModel = groupBy(rows.filter((row) => row.served_model !== null), (row) => row.served_model as string);
  return [...byModel.entries()]
    .map(([model, modelRows]) => {
      const servers = [...groupBy(modelRows, (row) => row.server_id ?? 'unknown').entries()].map(([id, serverRows]) => ({ server: serverName(id), statistics: summarize(serverRows) }));
      return modelPerformance(model, summarize(modelRows), servers);
    })
    .sort((a, b) => b.statistics.requests - a.statistics.requests);
}

/** The same report from figures already summed (rollups, decision 0029). */
export function performanceFromFigures(models: Iterable<{ model: string; statistics: UsageStatistics; servers: Map<string, UsageStatistics> }>, serverName: (id: string) => string): ModelPerformance[] {
  return [...models]
    .map(({ model, statistics, servers }) => modelPerformance(model, statistics, [...servers].map(([id, figures]) => ({ server: serverName(id === '' ? 'unknown' : id), statistics: figures }))))
    .sort((a, b) => b.statistics.requests - a.statistics.requests);
}

function modelPerformance(model: string, statistics: UsageStatistics, servers: Array<{ server: string; statistics: UsageStatistics }>): ModelPerformance {
  return { model, rating: rate(statistics), statistics, servers, suggestions: suggest(model, statistics, servers) };
}

function suggest(model: string, overall: UsageStatistics, servers: Array<{ server: string; statistics: UsageStatistics }>): string[] {
  const suggestions: string[] = [];
  const measured = servers.filter((entry) => entry.statistics.successes >= 5 && entry.statistics.p95_latency_ms !== null);
  const fastest = measured.reduce<(typeof measured)[number] | null>((best, entry) => (best === null || (entry.statistics.p95_latency_ms as number) < (best.statistics.p95_latency_ms as number) ? entry : best), null);
  for (const entry of measured) {
    if (fastest === null || entry === fastest) continue;
    const ratio = (entry.statistics.p95_latency_ms as number) / Math.max(1, fastest.statistics.p95_latency_ms as number);
    if (ratio >= 2) suggestions.push(`p95 on ${entry.server} is ${ratio.toFixed(1)}× ${fastest.server}: lower its weight for ${model}, or use the latency strategy.`);
  }
  for (const entry of servers) {
    const successRate = entry.statistics.success_rate;
    if (entry.statistics.requests >= minimumRequests && successRate !== null && successRate < 0.95) {
      suggestions.push(`${entry.server} fails ${((1 - successRate) * 100).toFixed(0)}% of ${model} requests: check its health history and logs.`);
    }
  }
  if (overall.requests >= minimumRequests && (overall.p95_latency_ms ?? 0) > 10_000) {
    suggestions.push(`p95 latency for ${model} is over 10 s: add a deployment or route part of its traffic to a lighter model.`);
  }
  return suggestions;
}

