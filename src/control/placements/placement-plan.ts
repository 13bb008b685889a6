import { isWithinActiveHours, type Placement } from '../../domain/placement.ts';

/** One server as the planner sees it. */
export interface PlanServer {
  id: string;
  name: string;
  /** Active and answering: an offline server neither counts as a copy nor gets work. */
  usable: boolean;
  canPull: boolean;
  canLoad: boolean;
  holds: boolean;
  loaded: boolean;
  /** `metadata.disk_free_bytes` when the operator set it; null when unknown. */
  freeBytes: number | null;
  /** Bytes of the models it already holds (the tie-breaker when free room is unknown). */
  heldBytes: number;
}

export interface PlanInput {
  placement: Placement;
  servers: PlanServer[];
  /** The model's size, from a server that has it; null when none says. */
  modelBytes: number | null;
  /** Servers with a pull or load of this model under way. */
  inFlight: ReadonlySet<string>;
  /** Servers whose last pull or load of this model failed recently, with why. */
  failures: ReadonlyMap<string, string>;
  now: Date;
}

export type PlacementStatus = 'satisfied' | 'progressing' | 'failed';

export interface Plan {
  pullOn: string[];
  loadOn: string[];
  status: PlacementStatus;
  reason: string | null;
  /** Server ids that hold it, and that hold it loaded. */
  holders: string[];
  warm: string[];
}

/**
 * What to do for one placement now: which servers to pull onto (the ones with
 * the most free room, else those holding the fewest bytes), which to load,
 * and how it stands. Pure: the reconciler acts on it (docs/decisions/0019).
 */
export function planPlacement(input: PlanInput): Plan {
  const { placement, modelBytes, inFlight, failures } = input;
  const named = placement.servers;
  const unknown = named?.filter((name) => !input.servers.some((server) => server.id === name || server.name === name)) ?? [];
  const scope = named === null ? input.servers : input.servers.filter((server) => named.includes(server.id) || named.includes(server.name));
  const wanted = placement.pulledOn ?? named?.length ?? 0;
  const holders = scope.filter((server) => server.usable && server.holds);
  const warm = holders.filter((server) => server.loaded);
  const reasons: string[] = [];
  if (unknown.length > 0) reasons.push(`unknown server${unknown.length === 1 ? '' : 's'}: ${unknown.join(', ')}`);

  const pending = scope.filter((server) => server.usable && !server.holds && inFlight.has(server.id)).length;
  let missing = Math.max(0, wanted - holders.length - pending);
  const noRoom: string[] = [];
  const failed: string[] = [];
  const candidates = scope
    .filter((server) => server.usable && server.canPull && !server.holds && !inFlight.has(server.id))
    .filter((server) => {
      const failure = failures.get(server.id);
      if (failure !== undefined) failed.push(`${server.name}: ${failure}`);
      return failure === undefined;
    })
    .filter((server) => {
      const fits = server.freeBytes === null || modelBytes === null || server.freeBytes >= modelBytes;
      if (!fits) noRoom.push(`${server.name} has ${gb(server.freeBytes)} free, it needs ${gb(modelBytes)}`);
      return fits;
    })
    .sort((a, b) => (b.freeBytes ?? -1) - (a.freeBytes ?? -1) || a.heldBytes - b.heldBytes || a.name.localeCompare(b.name));
  const pullOn = candidates.slice(0, missing).map((server) => server.id);
  missing -= pullOn.length;
  if (missing > 0) {
    if (failed.length > 0) reasons.push(`pull failed on ${failed.join('; ')}`);
    if (noRoom.length > 0) reasons.push(`no room: ${noRoom.join('; ')}`);
    const able = scope.filter((server) => server.usable && (server.canPull || server.holds)).length;
    if (failed.length === 0 && noRoom.length === 0) reasons.push(`too few servers: need ${wanted}, have ${able}`);
  }

  const loadOn: string[] = [];
  let cold = 0;
  if (isWithinActiveHours(placement.activeHours, input.now)) {
    const loading = holders.filter((server) => !server.loaded && inFlight.has(server.id)).length;
    const needWarm = Math.max(0, placement.warmOn - warm.length - loading);
    const loadable = holders.filter((server) => !server.loaded && server.canLoad && !inFlight.has(server.id) && !failures.has(server.id));
    loadOn.push(...loadable.slice(0, needWarm).map((server) => server.id));
    cold = needWarm - loadOn.length;
    const loadFailures = holders.filter((server) => failures.has(server.id));
    if (cold > 0 && loadFailures.length > 0) reasons.push(`load failed on ${loadFailures.map((server) => `${server.name}: ${failures.get(server.id) ?? ''}`).join('; ')}`);
  }

  const busy = pullOn.length > 0 || loadOn.length > 0 || scope.some((server) => inFlight.has(server.id));
  const fullyHeld = holders.length >= wanted && warm.length >= (isWithinActiveHours(placement.activeHours, input.now) ? placement.warmOn : 0);
  const status: PlacementStatus = reasons.length > 0 ? 'failed' : fullyHeld && !busy ? 'satisfied' : busy || cold > 0 || missing > 0 ? 'progressing' : 'satisfied';
  return {
    pullOn,
    loadOn,
    status,
    reason: reasons.length > 0 ? reasons.join('; ') : status === 'progressing' ? progressNote(pullOn.length + pending, loadOn.length, holders.length, wanted) : null,
    holders: holders.map((server) => server.id),
    warm: warm.map((server) => server.id),
  };
}

function progressNote(pulling: number, loading: number, held: number, wanted: number): string {
  const parts = [`held on ${held} of ${wanted}`];
  if (pulling > 0) parts.push(`pulling on ${pulling}`);
  if (loading > 0) parts.push(`loading on ${loading}`);
  return parts.join(', ');
}

function gb(bytes: number | null): string {
  return bytes === null ? '?' : `${(bytes / 1e9).toFixed(1)} GB`;
}
