import type { FleetFile } from '../../config/fleet-file.ts';
import { FleetFileError } from '../../config/fleet-file.ts';
import { systemActor } from '../../domain/audit.ts';
import { AppError } from '../../errors/app-error.ts';
import type { ModelThresholds } from './model-thresholds.ts';

/** The fleet file's `thresholds:` at start, owned by the file (decision 0010); ones it no longer names are removed. */
export async function applyFleetThresholds(fleet: FleetFile, thresholds: ModelThresholds, fileName: string): Promise<void> {
  const actor = systemActor('fleet-file');
  for (const [model, limits] of Object.entries(fleet.thresholds)) {
    try {
      await thresholds.put(model, limits, { managedBy: 'fleet', actor });
    } catch (error) {
      if (error instanceof AppError) throw new FleetFileError(`${fileName}: thresholds.${model}: ${error.message}`);
      throw error;
    }
  }
  for (const entry of thresholds.list()) if (entry.managedBy === 'fleet' && fleet.thresholds[entry.model] === undefined) await thresholds.remove(entry.model, actor);
}
