import { Counter, Gauge, type Registry } from 'prom-client';
import type { FleetEvent } from '../control/servers/server-events.ts';
import type { ServerRegistry } from '../control/servers/server-registry.ts';

export interface LifecycleMetrics {
  /** Follows the probes (subscribe it to the registry's events). */
  listener: (event: FleetEvent) => void;
  /** A request answered by a model its server had not loaded: a cold start (counted once, not again by the next probe). */
  coldStart: (server: { id: string; name: string }, modelId: string) => void;
}

/**
 * What the fleet holds in memory: `llm_active_models{server}` (loaded models),
 * `llm_gpu_memory_usage_bytes{server}` (VRAM they hold, as the server reports
 * it: Ollama's /api/ps), and `llm_model_loads_total{server, model}`: a cold
 * start seen on a request, or a model seen loaded on a probe that was not
 * loaded on the one before (a load by an operation or the server itself). The
 * first probe after the gateway starts is the baseline, not a load.
 */
export function lifecycleMetrics(registry: ServerRegistry, metrics: Registry): LifecycleMetrics {
  const registers = [metrics];
  const active = new Gauge({ name: 'llm_active_models', help: 'Models loaded in memory on each server, as its last probe saw.', labelNames: ['server'], registers });
  const memory = new Gauge({ name: 'llm_gpu_memory_usage_bytes', help: 'Memory (VRAM) held by the models loaded on each server, as it reports it.', labelNames: ['server'], registers });
  const loads = new Counter({ name: 'llm_model_loads_total', help: 'Model loads: cold starts seen on requests, and models seen loaded on a probe that were not loaded on the previous one.', labelNames: ['server', 'model'], registers });
  const previous = new Map<string, Set<string>>();
  return {
    listener: (event) => {
      const name = event.server.name;
      if (event.type === 'server.deleted') {
        active.remove({ server: name });
        memory.remove({ server: name });
        previous.delete(event.server.id);
        return;
      }
      if (event.type !== 'server.checked') return;
      const loaded = new Set(registry.modelsOf(event.server.id).filter((model) => model.status === 'loaded').map((model) => model.modelId));
      active.set({ server: name }, loaded.size);
      const bytes = registry.loadOf(event.server.id)?.memoryBytes;
      if (bytes !== null && bytes !== undefined) memory.set({ server: name }, bytes);
      const before = previous.get(event.server.id);
      if (before !== undefined) for (const model of loaded) if (!before.has(model)) loads.inc({ server: name, model });
      previous.set(event.server.id, loaded);
    },
    coldStart: (server, modelId) => {
      const seen = previous.get(server.id);
      if (seen?.has(modelId) === true) return;
      loads.inc({ server: server.name, model: modelId });
      seen?.add(modelId);
    },
  };
}
