import type { FastifyBaseLogger } from 'fastify';
import type { FleetFile } from '../../config/fleet-file.ts';
import { applyFleetRecords } from '../fleet/apply-fleet-records.ts';
import type { PlacementRegistry } from './placement-registry.ts';

/** The fleet file's `placements:` at start (see applyFleetRecords). */
export async function applyFleetPlacements(fleet: FleetFile, placements: PlacementRegistry, fileName: string, log: FastifyBaseLogger): Promise<void> {
  const removed = await applyFleetRecords('placements', fleet.placements, { put: (model, input, options) => placements.put(model, input, options), list: () => placements.list(), remove: (model, actor) => placements.remove(model, actor), modelOf: (placement) => placement.model }, fileName);
  for (const model of removed) log.info({ model }, 'removed a placement the fleet file no longer names');
}
