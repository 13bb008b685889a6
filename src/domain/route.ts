import type { RoutingStrategy } from '../config/config-schema.ts';
import type { ManagedBy } from './model-server.ts';

/** One model a route sends traffic to: a share (`weight`) and a tier (1 first). */
export interface RouteTarget {
  model: string;
  weight: number;
  tier: number;
}

/**
 * An alias: callers ask for `name`, traffic goes to the targets under the
 * route's strategy, and, when none of them can answer, to each fallback
 * model in turn (`gpt-4o` → `mixtral` → `yi34b`).
 */
export interface Route {
  id: string;
  name: string;
  strategy: RoutingStrategy | null;
  targets: RouteTarget[];
  fallbacks: string[];
  metadata: Record<string, unknown>;
  managedBy: ManagedBy;
  createdAt: string;
  updatedAt: string;
}
