import type { FastifyBaseLogger } from 'fastify';
import type { FleetFile } from '../../config/fleet-file.ts';
import { FleetFileError } from '../../config/fleet-file.ts';
import { systemActor } from '../../domain/audit.ts';
import { AppError } from '../../errors/app-error.ts';
import type { PlacementRegistry } from './placement-registry.ts';

/**
 * The fleet file's `placements:` at start: each is created or replaced and
 * owned by the file (decision 0010); one the file no longer names is removed.
 * A placement the rules refuse stops the start with the file's name and key.
 */
export async function applyFleetPlacements(fleet: FleetFile, placements: PlacementRegistry, fileName: string, log: FastifyBaseLogger): Promise<void> {
  const actor = systemActor('fleet-file');
  for (const [model, entry] of Object.entries(fleet.placements)) {
    try {
      await placements.put(model, entry, { managedBy: 'fleet', actor });
    } catch (error) {
      if (error instanceof AppError) throw new FleetFileError(`${fileName}: placements.${model}: ${error.message}`);
      throw error;
    }
  }
  for (const placement of placements.list()) {
    if (placement.managedBy === 'fleet' && fleet.placements[placement.model] === undefined) {
      await placements.remove(placement.model, actor);
      log.info({ model: placement.model }, 'removed a placement the fleet file no longer names');
    }
  }
}
