import type { ManagedBy } from './model-server.ts';

/** A daily window (UTC) in which warm copies are kept loaded: `08:00-18:00`; it may wrap midnight (`22:00-06:00`). */
export interface ActiveHours {
  from: string;
  to: string;
}

/**
 * What an operator wants of a model across the fleet: on how many servers it
 * is pulled (or on exactly which), and on how many of those it is kept
 * loaded. The reconciler makes reality match (docs/decisions/0019).
 */
export interface Placement {
  model: string;
  pulledOn: number | null;
  servers: string[] | null;
  warmOn: number;
  keepAlive: string | number | null;
  activeHours: ActiveHours | null;
  managedBy: ManagedBy;
  createdAt: string;
  updatedAt: string;
}

/** Minutes since midnight UTC of `HH:MM`. */
function minutesOf(time: string): number {
  const [hours, minutes] = time.split(':').map(Number) as [number, number];
  return hours * 60 + minutes;
}

/** True when `now` falls in the window (always true without one). */
export function isWithinActiveHours(hours: ActiveHours | null, now: Date): boolean {
  if (hours === null) return true;
  const at = now.getUTCHours() * 60 + now.getUTCMinutes();
  const from = minutesOf(hours.from);
  const to = minutesOf(hours.to);
  return from <= to ? at >= from && at < to : at >= from || at < to;
}
