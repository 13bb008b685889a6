import type { FastifyBaseLogger } from 'fastify';
import type { CollectionService } from '../../collections/collection-service.ts';
import type { FleetCollection } from '../../config/fleet-file.ts';
import { knownDimension } from '../../collections/model-facts.ts';
import { systemActor } from '../../domain/audit.ts';

export interface FleetCollectionsReport {
  created: string[];
  unchanged: string[];
  /** Made by the file before, no longer in it: kept with their vectors, editable over the API again. */
  released: string[];
  /** No vector_size in the file and the model's not known yet: made once a server reports it. */
  pending: string[];
  failed: Array<{ name: string; error: string }>;
}

const fleetActor = systemActor('fleet-file');
const fleetCaller = { requestId: 'fleet-file', keyId: null, isAllowed: () => true, actor: fleetActor };

/**
 * Makes the collection registry match the fleet file's `collections:`
 * section. Unlike servers and routes, a collection the file no longer lists
 * is not deleted (that would drop its vectors): it is released to the API.
 * A collection whose model, size or distance the file changes is recreated
 * only while it is empty; otherwise the change is reported and not applied.
 * Answers the report and a retry for the pending ones (call it when the fleet changes).
 */
export async function applyFleetCollections(
  entries: Record<string, FleetCollection>,
  collections: CollectionService,
  log: FastifyBaseLogger,
): Promise<{ report: FleetCollectionsReport; retryPending: () => Promise<void> }> {
  const report: FleetCollectionsReport = { created: [], unchanged: [], released: [], pending: [], failed: [] };
  const pending = new Map<string, FleetCollection>();
  const applyOne = async (name: string, entry: FleetCollection): Promise<void> => {
    const existing = collections.get(name);
    if (existing !== undefined) {
      const sameShape = existing.model === entry.model && (entry.vector_size === undefined || entry.vector_size === existing.vectorSize) && (entry.distance ?? 'cosine') === existing.distance;
      if (sameShape) {
        if (existing.managedBy !== 'fleet') await collections.save({ ...existing, managedBy: 'fleet' }, { actor: fleetActor, action: 'collection.update' });
        report.unchanged.push(name);
        return;
      }
      const count = await collections.vectors.count(existing.physicalName);
      if (count > 0) throw new Error(`the file changes its model, size or distance, and it holds ${count} vectors: delete it (remove it from the file, restart, then DELETE /api/v1/collections/${name}) to recreate it`);
      await collections.remove(name, fleetActor);
    }
    const vectorSize = entry.vector_size ?? knownDimension(collections.models.deploymentsOf(entry.model));
    if (vectorSize === null) {
      pending.set(name, entry);
      report.pending.push(name);
      log.warn({ collection: name, model: entry.model }, 'fleet file: collection waits for its model to report its vector size (or set vector_size)');
      return;
    }
    await collections.create({ name, model: entry.model, vectorSize, ...(entry.distance === undefined ? {} : { distance: entry.distance }) }, 'fleet', fleetCaller);
    report.created.push(name);
  };
  for (const [name, entry] of Object.entries(entries)) {
    try {
      await applyOne(name, entry);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      report.failed.push({ name, error: message });
      log.error({ collection: name, err: message }, 'fleet file: collection not applied');
    }
  }
  for (const collection of collections.list()) {
    if (collection.managedBy === 'fleet' && !(collection.name in entries)) {
      await collections.save({ ...collection, managedBy: 'api' }, { actor: fleetActor, action: 'collection.update' });
      report.released.push(collection.name);
    }
  }
  log.info({ ...report, failed: report.failed.length }, 'fleet file: collections applied');
  const retryPending = async () => {
    for (const [name, entry] of [...pending]) {
      if (knownDimension(collections.models.deploymentsOf(entry.model)) === null) continue;
      pending.delete(name);
      await applyOne(name, entry).catch((error: unknown) => log.error({ collection: name, err: error instanceof Error ? error.message : String(error) }, 'fleet file: collection not applied'));
    }
  };
  return { report, retryPending };
}
