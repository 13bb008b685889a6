import { describe, expect, it } from 'vitest';
import type { ModelServer, ServerModel } from '../../src/domain/model-server.ts';
import type { ModelCapability } from '../../src/domain/server-kind.ts';
import type { LoadMetrics } from '../../src/data/adapters/server-adapter.ts';
import { selectAutoModel } from '../../src/data/routing/auto-select.ts';
import { ModelIndex, type FleetView } from '../../src/data/routing/model-index.ts';

/** The registry as the index sees it: servers, their models, events. */
class FakeFleet implements FleetView {
  readonly servers = new Map<string, ModelServer>();
  readonly models = new Map<string, Map<string, ServerModel>>();
  readonly loads = new Map<string, LoadMetrics>();
  readonly #listeners: Array<(event: { server: { id: string } }) => void> = [];

  list(): ModelServer[] {
    return [...this.servers.values()];
  }
  get(id: string): ModelServer | undefined {
    return this.servers.get(id);
  }
  modelsOf(id: string): ServerModel[] {
    return [...(this.models.get(id)?.values() ?? [])];
  }
  loadOf(id: string): LoadMetrics | undefined {
    return this.loads.get(id);
  }
  onEvent(listener: (event: { server: { id: string } }) => void): void {
    this.#listeners.push(listener);
  }

  /** Registers or replaces a server (a new object, as the registry does) with these models, and announces it. */
  put(id: string, modelIds: Array<string | { id: string; capabilities: ModelCapability[] }>, status: ModelServer['healthStatus'] = 'online'): void {
    this.servers.set(id, { id, name: `server-${id}`, serverType: 'ollama', isActive: true, healthStatus: status, statusReason: null } as ModelServer);
    const previous = this.models.get(id) ?? new Map<string, ServerModel>();
    const next = new Map<string, ServerModel>();
    for (const entry of modelIds) {
      const spec = typeof entry === 'string' ? { id: entry, capabilities: ['chat', 'completion'] as ModelCapability[] } : entry;
      const old = previous.get(spec.id);
      // Like the registry: an unchanged model keeps its object.
      next.set(spec.id, old !== undefined && old.capabilities.join() === spec.capabilities.join() ? old : model(id, spec.id, spec.capabilities));
    }
    this.models.set(id, next);
    this.announce(id);
  }

  remove(id: string): void {
    this.servers.delete(id);
    this.models.delete(id);
    this.announce(id);
  }

  announce(id: string): void {
    for (const listener of this.#listeners) listener({ server: { id } });
  }
}

function model(serverId: string, modelId: string, capabilities: ModelCapability[]): ServerModel {
  return { serverId, modelId, capabilities, embeddingDimension: null, contextLength: null, status: 'loaded', details: {}, firstSeenAt: '2026-01-01T00:00:00Z', lastSeenAt: '2026-01-01T00:00:00Z' };
}

function newIndex(fleet: FakeFleet): ModelIndex {
  return new ModelIndex(fleet, { threshold: 3, cooldownMs: 1_000 });
}

const settled = () => new Promise<void>((resolve) => queueMicrotask(resolve));

describe('the model index', () => {
  it("gives each deployment its server's stated capacity, else the reported one, else the learned one, and says which", () => {
    const fleet = new FakeFleet();
    fleet.put('gpu', ['big-llm']);
    fleet.put('laptop', ['small-llm']);
    const index = newIndex(fleet);
    const capacityOf = (name: string) => {
      const deployment = index.deploymentsOf(name)[0];
      return { capacity: deployment?.capacity, source: deployment?.capacitySource };
    };
    expect(capacityOf('big-llm')).toEqual({ capacity: null, source: null });
    const reconfigure = (id: string, fields: Partial<ModelServer>, load?: Partial<LoadMetrics>) => {
      fleet.servers.set(id, { ...(fleet.servers.get(id) as ModelServer), ...fields });
      if (load !== undefined) fleet.loads.set(id, { runningRequests: null, waitingRequests: null, kvCacheUsage: null, loadedModels: [], memoryBytes: null, details: {}, ...load });
      fleet.announce(id);
    };
    reconfigure('gpu', { serverType: 'vllm' }, { learnedCapacity: 8 });
    reconfigure('laptop', { serverType: 'llamacpp' }, { details: { total_slots: 4 }, learnedCapacity: 3 });
    expect(capacityOf('big-llm')).toEqual({ capacity: 8, source: 'learned' });
    expect(capacityOf('small-llm')).toEqual({ capacity: 4, source: 'reported' });
    reconfigure('gpu', { maxConcurrency: 2 });
    expect(capacityOf('big-llm')).toEqual({ capacity: 2, source: 'stated' });
    reconfigure('gpu', { maxConcurrency: null });
    expect(capacityOf('big-llm')).toEqual({ capacity: 8, source: 'learned' });
  });

  it('keeps each deployment\'s live state (breaker, EWMAs, in flight) when a health result patches its server', () => {
    const fleet = new FakeFleet();
    fleet.put('a', ['llama3:latest']);
    const index = newIndex(fleet);
    const before = index.deploymentsOf('llama3')[0];
    if (before === undefined) throw new Error('no deployment');
    before.state.inflight = 2;
    before.state.recordTtfb(40);
    before.state.breaker.onFailure(0);

    fleet.put('a', ['llama3:latest', 'phi3'], 'degraded');
    const after = index.deploymentsOf('llama3:latest')[0];
    expect(after).toBe(before);
    expect(after?.server.healthStatus).toBe('degraded');
    expect(after?.state).toMatchObject({ inflight: 2, ttfbEwmaMs: 40 });
    // The model's own numbers (what auto ranks by) are fed by its deployments.
    expect(after?.state.model?.ttfbEwmaMs).toBe(40);
    expect(index.deploymentsOf('phi3')).toHaveLength(1);
  });

  it('patches only the server that reported: the others\' deployments and lists are not touched', () => {
    const fleet = new FakeFleet();
    for (const id of ['a', 'b', 'c']) fleet.put(id, ['mixtral', `only-${id}`]);
    const index = newIndex(fleet);
    const shared = index.deploymentsOf('mixtral');
    const ofB = index.deploymentsOf('only-b');
    const serverB = ofB[0]?.server;
    const patches = index.stats.serverPatches;

    fleet.put('a', ['mixtral', 'only-a'], 'degraded');
    index.flush();
    expect(index.stats.serverPatches).toBe(patches + 1);
    expect(index.deploymentsOf('only-b')).toBe(ofB);
    expect(index.deploymentsOf('only-b')[0]?.server).toBe(serverB);
    // Same members: the list readers hold is still the list.
    expect(index.deploymentsOf('mixtral')).toBe(shared);
  });

  it('answers a health result that changed nothing without rebuilding a list or re-sorting names', () => {
    const fleet = new FakeFleet();
    for (let server = 0; server < 50; server++) fleet.put(`s${server}`, ['mixtral', 'phi3', `own-${server}`]);
    const index = newIndex(fleet);
    const names = index.names();
    const lists = ['mixtral', 'phi3', 'own-7'].map((name) => index.deploymentsOf(name));
    const sorts = index.stats.nameSorts;

    for (let server = 0; server < 50; server++) fleet.put(`s${server}`, ['mixtral', 'phi3', `own-${server}`]);
    expect(index.names()).toBe(names);
    expect(index.stats.nameSorts).toBe(sorts);
    expect(['mixtral', 'phi3', 'own-7'].map((name) => index.deploymentsOf(name))).toEqual(lists);
    lists.forEach((list, position) => expect(index.deploymentsOf(['mixtral', 'phi3', 'own-7'][position] as string)).toBe(list));
  });

  it('drops a removed model\'s deployment and its names (with the :latest alias), and a removed server\'s deployments', () => {
    const fleet = new FakeFleet();
    fleet.put('a', ['llama3:latest', 'phi3']);
    fleet.put('b', ['phi3', 'qwen2']);
    const index = newIndex(fleet);
    expect(index.names()).toEqual(['llama3', 'llama3:latest', 'phi3', 'qwen2']);

    fleet.put('a', ['phi3']);
    expect(index.deploymentsOf('llama3')).toEqual([]);
    expect(index.deploymentsOf('llama3:latest')).toEqual([]);
    expect(index.names()).toEqual(['phi3', 'qwen2']);
    expect(index.suggest('llama')).toEqual([]);

    fleet.remove('b');
    expect(index.deploymentsOf('phi3').map((deployment) => deployment.server.id)).toEqual(['a']);
    expect(index.names()).toEqual(['phi3']);
    expect(index.allDeployments()).toHaveLength(1);
    expect(index.modelsWith(['chat'])).toEqual(['phi3']);
  });

  it('coalesces a burst of fleet events into one flush, one patch per server, one sort of names', async () => {
    const fleet = new FakeFleet();
    const index = newIndex(fleet);
    const flushes = index.stats.flushes;
    const patches = index.stats.serverPatches;
    // A fleet apply or health-check-all: many servers, several events each.
    for (let server = 0; server < 100; server++) {
      fleet.put(`s${server}`, ['mixtral', `own-${server}`]);
      fleet.announce(`s${server}`);
      fleet.announce(`s${server}`);
    }
    await settled();
    expect(index.stats.flushes).toBe(flushes + 1);
    expect(index.stats.serverPatches).toBe(patches + 100);
    expect(index.names()).toHaveLength(101);
    expect(index.names()).toHaveLength(101);
    expect(index.stats.nameSorts).toBe(1);
  });

  it('never lets a reader see a change that is announced but not yet applied', () => {
    const fleet = new FakeFleet();
    const index = newIndex(fleet);
    fleet.put('a', ['phi3']);
    // No tick has passed: the read applies what is pending first.
    expect(index.deploymentsOf('phi3')).toHaveLength(1);
    fleet.remove('a');
    expect(index.deploymentsOf('phi3')).toEqual([]);
  });

  it('keeps capability → models current, so auto follows a model that gains or loses a capability', () => {
    const fleet = new FakeFleet();
    fleet.put('a', [{ id: 'small-7b', capabilities: ['chat'] }, { id: 'embedder', capabilities: ['embedding'] }]);
    fleet.put('b', [{ id: 'big-70b', capabilities: ['chat'] }]);
    const index = newIndex(fleet);
    const tools = { messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'f' } }] };
    expect(index.modelsWith(['chat', 'tools'])).toEqual([]);
    expect(selectAutoModel('chat', tools, 'quality', index, 0)).toBeNull();

    fleet.put('a', [{ id: 'small-7b', capabilities: ['chat', 'tools'] }, { id: 'embedder', capabilities: ['embedding'] }]);
    expect(index.modelsWith(['chat', 'tools'])).toEqual(['small-7b']);
    expect(selectAutoModel('chat', tools, 'quality', index, 0)?.model).toBe('small-7b');
    expect(selectAutoModel('chat', { messages: [] }, 'quality', index, 0)?.model).toBe('big-70b');
    expect(selectAutoModel('embeddings', { input: 'x' }, 'balanced', index, 0)?.model).toBe('embedder');

    // Another server gains it too; the first loses it: the model keeps it while any deployment has it.
    fleet.put('b', [{ id: 'big-70b', capabilities: ['chat'] }, { id: 'small-7b', capabilities: ['chat', 'tools'] }]);
    fleet.put('a', [{ id: 'small-7b', capabilities: ['chat'] }]);
    expect(index.modelsWith(['chat', 'tools'])).toEqual(['small-7b']);
    fleet.remove('b');
    expect(index.modelsWith(['chat', 'tools'])).toEqual([]);
    expect(index.modelsWith(['embedding'])).toEqual([]);
  });

  it('lets auto reuse what it collected only while it still holds: a server going offline or a cooldown is seen at once', () => {
    const fleet = new FakeFleet();
    fleet.put('a', [{ id: 'big-70b', capabilities: ['chat'] }]);
    fleet.put('b', [{ id: 'small-7b', capabilities: ['chat'] }]);
    const index = newIndex(fleet);
    const chat = { messages: [{ role: 'user', content: 'hi' }] };
    expect(selectAutoModel('chat', chat, 'quality', index, 1_000)?.model).toBe('big-70b');
    const version = index.version;

    // A check that changed nothing keeps the version (and so what auto collected).
    fleet.put('a', [{ id: 'big-70b', capabilities: ['chat'] }]);
    expect(index.version).toBe(version);

    fleet.put('a', [{ id: 'big-70b', capabilities: ['chat'] }], 'offline');
    expect(index.version).not.toBe(version);
    expect(selectAutoModel('chat', chat, 'quality', index, 1_001)?.model).toBe('small-7b');

    fleet.put('a', [{ id: 'big-70b', capabilities: ['chat'] }], 'online');
    expect(selectAutoModel('chat', chat, 'quality', index, 1_002)?.model).toBe('big-70b');
    // A 429's cooldown does not change the fleet, yet the next pick already avoids it.
    (index.deploymentsOf('big-70b')[0] as { state: { cooldownUntil: number } }).state.cooldownUntil = 60_000;
    expect(selectAutoModel('chat', chat, 'quality', index, 1_003)?.model).toBe('small-7b');
  });
});
