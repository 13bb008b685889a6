import { emptyMeasures, mergeMeasures, type Measures } from '../../storage/rollups/usage-rollups.ts';
import type { RollupSum } from '../../storage/usage-store.ts';
import { statisticsOf, type UsageStatistics } from './usage-statistics.ts';

export interface ModelFigures {
  model: string;
  statistics: UsageStatistics;
  /** Per server id ('' when the record had none). */
  servers: Map<string, UsageStatistics>;
}

/**
 * Per-model figures (and per server under each model) from `model_server`
 * rollup sums: the same grouping raw analytics make of the records a model
 * answered (decision 0029).
 */
export function figuresByModel(sums: readonly RollupSum[]): Map<string, ModelFigures> {
  const models = new Map<string, { total: Measures; servers: Map<string, Measures> }>();
  for (const sum of sums) {
    const split = sum.value.lastIndexOf('\n');
    const model = sum.value.slice(0, split);
    const server = sum.value.slice(split + 1);
    let entry = models.get(model);
    if (entry === undefined) {
      entry = { total: emptyMeasures(), servers: new Map() };
      models.set(model, entry);
    }
    mergeMeasures(entry.total, sum.measures);
    const own = entry.servers.get(server) ?? emptyMeasures();
    mergeMeasures(own, sum.measures);
    entry.servers.set(server, own);
  }
  const figures = new Map<string, ModelFigures>();
  for (const [model, entry] of models) {
    figures.set(model, { model, statistics: statisticsOf(entry.total), servers: new Map([...entry.servers].map(([server, measures]) => [server, statisticsOf(measures)])) });
  }
  return figures;
}
