import type { ManagedBy } from '../../domain/model-server.ts';
import { errors } from '../../errors/error-catalogue.ts';

/** How the admin API marks a record the fleet file owns (docs/decisions/0010). */
export type ManagedByView = 'fleet_file' | null;

/**
 * Which records the fleet file owns while this gateway runs. The file is
 * applied at every start and wins, so an edit made over the API would be
 * undone silently: such edits are refused instead. Started without a fleet
 * file, nothing reverts a record, so none is held (not even one the file
 * made earlier): the operator can edit or delete it.
 */
export class FleetOwnership {
  /** The fleet file in use (the `config_file` setting), or null. */
  readonly path: string | null;

  constructor(path: string | null) {
    this.path = path;
  }

  isManaged(record: { managedBy: ManagedBy }): boolean {
    return this.path !== null && record.managedBy === 'fleet';
  }

  view(record: { managedBy: ManagedBy }): ManagedByView {
    return this.isManaged(record) ? 'fleet_file' : null;
  }

  /** Throws SY_MANAGED_BY_FLEET_FILE for a managed record; `what` names it, e.g. `Model server "primary"`. */
  assertEditable(record: { managedBy: ManagedBy }, what: string): void {
    if (this.path !== null && this.isManaged(record)) throw errors.managedByFleetFile(what, this.path);
  }
}
