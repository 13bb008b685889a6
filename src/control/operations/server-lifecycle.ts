import { findServerKind } from '../../data/adapters/server-kinds.ts';
import type { KindLifecycle } from '../../data/adapters/server-kind-module.ts';
import type { ModelServer, ServerModel } from '../../domain/model-server.ts';

/**
 * What can be done to the models of this one server: its kind's lifecycle,
 * unless the server manages no models of its own (a single-model llama-server
 * of a kind whose routers do). Every place that offers or runs an action asks here.
 */
export function lifecycleOf(server: ModelServer, models: readonly Pick<ServerModel, 'details'>[]): KindLifecycle | undefined {
  const lifecycle = findServerKind(server.serverType)?.lifecycle;
  if (lifecycle?.manages !== undefined && !lifecycle.manages(models)) return undefined;
  return lifecycle;
}
