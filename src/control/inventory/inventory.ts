import type { ModelServer, ServerModel } from '../../domain/model-server.ts';
import { lifecycleOf } from '../operations/server-lifecycle.ts';
import type { ServerRegistry } from '../servers/server-registry.ts';
import type { RunningModel } from '../../data/adapters/server-adapter.ts';

export interface InventoryCell {
  server_id: string;
  name: string;
  status: 'loaded' | 'available';
  loaded: boolean;
  digest: string | null;
  size: number | null;
  family: string | null;
  parameter_size: string | null;
  quantization: string | null;
  modified_at: string | null;
  size_vram: number | null;
  expires_at: string | null;
  capabilities: string[];
  context_length: number | null;
  embedding_dimension: number | null;
  /** What else the server says of it (vLLM: `root`, `parent` for a LoRA adapter; TEI: its /info), minus what is above. */
  details: Record<string, unknown>;
}

export interface InventoryServer {
  id: string;
  name: string;
  server_type: string;
  health_status: string;
  is_active: boolean;
  loaded_models: number;
  vram_bytes: number | null;
  /** What its kind lets Switchyard do to its models: pull, remove, copy, load, unload. */
  actions: string[];
}

export interface Inventory {
  servers: InventoryServer[];
  models: Array<{ id: string; active: boolean; loaded_on: number; available_on: number; servers: InventoryCell[] }>;
}

const lifecycleActions = ['pull', 'remove', 'copy', 'load', 'unload'] as const;
const shown = new Set(['digest', 'size_bytes', 'family', 'parameter_size', 'quantization', 'modified_at']);

/**
 * The model × server matrix, from what the last probes found: each model
 * down, every server that has it across, loaded or only on disk. Absent
 * means the server does not list it. Read from memory: no upstream call.
 */
export function buildInventory(registry: ServerRegistry, isInactive: (modelId: string) => boolean = () => false): Inventory {
  const servers = registry.list().sort((a, b) => a.name.localeCompare(b.name));
  const models = new Map<string, InventoryCell[]>();
  for (const server of servers) {
    const running = new Map((registry.loadOf(server.id)?.running ?? []).map((entry) => [entry.model, entry]));
    for (const model of registry.modelsOf(server.id)) {
      const cells = models.get(model.modelId) ?? [];
      cells.push(cellOf(server, model, running.get(model.modelId)));
      models.set(model.modelId, cells);
    }
  }
  return {
    servers: servers.map((server) => {
      const load = registry.loadOf(server.id);
      const held = registry.modelsOf(server.id);
      const lifecycle = lifecycleOf(server, held);
      return {
        id: server.id,
        name: server.name,
        server_type: server.serverType,
        health_status: server.healthStatus,
        is_active: server.isActive,
        loaded_models: held.filter((model) => model.status === 'loaded').length,
        vram_bytes: load?.memoryBytes ?? null,
        actions: lifecycleActions.filter((action) => lifecycle?.[action] !== undefined),
      };
    }),
    models: [...models.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([id, cells]) => ({ id, active: !isInactive(id), loaded_on: cells.filter((cell) => cell.loaded).length, available_on: cells.length, servers: cells })),
  };
}

function cellOf(server: ModelServer, model: ServerModel, running: RunningModel | undefined): InventoryCell {
  const details = model.details;
  const text = (key: string): string | null => (typeof details[key] === 'string' ? (details[key] as string) : null);
  return {
    server_id: server.id,
    name: server.name,
    status: model.status,
    loaded: model.status === 'loaded',
    digest: text('digest'),
    size: typeof details['size_bytes'] === 'number' ? details['size_bytes'] : null,
    family: text('family'),
    parameter_size: text('parameter_size'),
    quantization: text('quantization'),
    modified_at: text('modified_at'),
    size_vram: running?.vramBytes ?? null,
    expires_at: running?.expiresAt ?? null,
    capabilities: model.capabilities,
    context_length: model.contextLength,
    embedding_dimension: model.embeddingDimension,
    details: Object.fromEntries(Object.entries(details).filter(([key]) => !shown.has(key))),
  };
}
