import type { FleetFile } from '../../config/fleet-file.ts';
import { applyFleetRecords } from '../fleet/apply-fleet-records.ts';
import type { ModelThresholds } from './model-thresholds.ts';

/** The fleet file's `thresholds:` at start (see applyFleetRecords). */
export async function applyFleetThresholds(fleet: FleetFile, thresholds: ModelThresholds, fileName: string): Promise<void> {
  await applyFleetRecords('thresholds', fleet.thresholds, { put: (model, input, options) => thresholds.put(model, input, options), list: () => thresholds.list(), remove: (model, actor) => thresholds.remove(model, actor), modelOf: (entry) => entry.model }, fileName);
}
