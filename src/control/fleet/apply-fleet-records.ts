import { FleetFileError } from '../../config/fleet-file.ts';
import { systemActor, type Actor } from '../../domain/audit.ts';
import type { ManagedBy } from '../../domain/model-server.ts';
import { AppError } from '../../errors/app-error.ts';

/** A registry of records the fleet file may own (placements, thresholds, prices), keyed by model. */
export interface FleetOwnedRecords<Input, Record extends { managedBy: ManagedBy }> {
  put(model: string, input: Input, options: { managedBy: ManagedBy; actor: Actor }): Promise<unknown>;
  list(): Record[];
  remove(model: string, actor: Actor): Promise<void>;
  modelOf(record: Record): string;
}

/**
 * Applies one model-keyed section of the fleet file at start (decision 0010):
 * each entry is created or replaced and owned by the file; one the file made
 * and no longer names is removed. An entry the rules refuse stops the start
 * with the file, the section and the model. Answers the models removed.
 */
export async function applyFleetRecords<Input, Record extends { managedBy: ManagedBy }>(
  section: string,
  entries: { [model: string]: Input },
  records: FleetOwnedRecords<Input, Record>,
  fileName: string,
): Promise<string[]> {
  const actor = systemActor('fleet-file');
  for (const [model, input] of Object.entries(entries)) {
    try {
      await records.put(model, input, { managedBy: 'fleet', actor });
    } catch (error) {
      if (error instanceof AppError) throw new FleetFileError(`${fileName}: ${section}.${model}: ${error.message}`);
      throw error;
    }
  }
  const removed: string[] = [];
  for (const record of records.list()) {
    const model = records.modelOf(record);
    if (record.managedBy !== 'fleet' || entries[model] !== undefined) continue;
    await records.remove(model, actor);
    removed.push(model);
  }
  return removed;
}
