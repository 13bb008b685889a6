import type { FastifyBaseLogger } from 'fastify';
import type { ServerModel } from '../../domain/model-server.ts';
import type { ModelRegistryStore } from '../../storage/model-registry-store.ts';
import { readJson, writeJson } from '../../storage/json-column.ts';
import type { ServerRegistry } from '../servers/server-registry.ts';

export interface VersionServer {
  server_id: string;
  name: string;
  first_seen_at: string;
  last_seen_at: string;
}

export interface ModelVersion {
  model: string;
  version: string;
  first_seen_at: string;
  last_seen_at: string;
  servers: VersionServer[];
}

// Last-seen times are written at most this often per version (a probe every 30 s must not be a write every 30 s).
const touchEveryMs = 10 * 60_000;

/**
 * What identifies a model's build: Ollama's digest, else the root a vLLM
 * server loaded it from, else (a server that says neither) `current`.
 */
export function versionOf(model: Pick<ServerModel, 'details'>): string {
  const digest = model.details['digest'];
  if (typeof digest === 'string' && digest !== '') return digest;
  const root = model.details['root'];
  return typeof root === 'string' && root !== '' ? root : 'current';
}

/**
 * Every model's version history, kept from the probes: each version (digest
 * or root), when it was first and last seen, and on which servers. Written
 * only on change (a new version or server) and, for last-seen times, at most
 * every 10 minutes. Never on the request path.
 */
export class VersionTracker {
  readonly #store: ModelRegistryStore;
  readonly #registry: ServerRegistry;
  readonly #log: FastifyBaseLogger;
  readonly #now: () => number;
  readonly #versions = new Map<string, ModelVersion>();
  readonly #written = new Map<string, number>();
  /** What each server listed on its last probe: model → version. */
  readonly #current = new Map<string, Map<string, string>>();

  constructor(options: { store: ModelRegistryStore; registry: ServerRegistry; log: FastifyBaseLogger; now?: () => number }) {
    this.#store = options.store;
    this.#registry = options.registry;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
  }

  async load(): Promise<void> {
    for (const row of await this.#store.versions()) {
      this.#versions.set(keyOf(row.model, row.version), { model: row.model, version: row.version, first_seen_at: row.first_seen_at, last_seen_at: row.last_seen_at, servers: readJson<VersionServer[]>(row.servers, []) });
    }
  }

  /** Records what a server lists now (called on each of its probes). */
  observe(serverId: string): void {
    const server = this.#registry.get(serverId);
    if (server === undefined) return;
    const now = this.#now();
    const stamp = new Date(now).toISOString();
    const listed = new Map<string, string>();
    for (const model of this.#registry.modelsOf(serverId)) {
      const version = versionOf(model);
      listed.set(model.modelId, version);
      const key = keyOf(model.modelId, version);
      let entry = this.#versions.get(key);
      let changed = false;
      if (entry === undefined) {
        entry = { model: model.modelId, version, first_seen_at: stamp, last_seen_at: stamp, servers: [] };
        this.#versions.set(key, entry);
        changed = true;
      }
      entry.last_seen_at = stamp;
      const seen = entry.servers.find((candidate) => candidate.server_id === serverId);
      if (seen === undefined) {
        entry.servers.push({ server_id: serverId, name: server.name, first_seen_at: stamp, last_seen_at: stamp });
        changed = true;
      } else {
        seen.last_seen_at = stamp;
        seen.name = server.name;
      }
      if (changed || now - (this.#written.get(key) ?? 0) >= touchEveryMs) this.#write(key, entry, now);
    }
    this.#current.set(serverId, listed);
  }

  forget(serverId: string): void {
    this.#current.delete(serverId);
  }

  /** A model's versions, newest first, each marked current when a server lists it now. */
  versionsOf(model: string): Array<ModelVersion & { current: boolean; current_on: string[] }> {
    const found = [...this.#versions.values()].filter((entry) => entry.model === model);
    return found
      .sort((a, b) => b.first_seen_at.localeCompare(a.first_seen_at))
      .map((entry) => {
        const currentOn = [...this.#current.entries()].filter(([, listed]) => listed.get(model) === entry.version).map(([serverId]) => this.#registry.get(serverId)?.name ?? serverId);
        return { ...structuredClone(entry), current: currentOn.length > 0, current_on: currentOn };
      });
  }

  /** The version `serverId` held of `model` at `time` (ISO): the latest first seen there by then. */
  versionAt(model: string, serverId: string | null, time: string): string | null {
    let best: { version: string; since: string } | null = null;
    let earliest: { version: string; since: string } | null = null;
    for (const entry of this.#versions.values()) {
      if (entry.model !== model) continue;
      const seen = entry.servers.find((candidate) => candidate.server_id === serverId);
      if (seen === undefined) continue;
      if (earliest === null || seen.first_seen_at < earliest.since) earliest = { version: entry.version, since: seen.first_seen_at };
      if (seen.first_seen_at > time) continue;
      if (best === null || seen.first_seen_at > best.since) best = { version: entry.version, since: seen.first_seen_at };
    }
    // A request just before the first probe recorded anything is the first version's.
    return best?.version ?? earliest?.version ?? null;
  }

  #write(key: string, entry: ModelVersion, now: number): void {
    this.#written.set(key, now);
    this.#store.saveVersion({ model: entry.model, version: entry.version, first_seen_at: entry.first_seen_at, last_seen_at: entry.last_seen_at, servers: writeJson(entry.servers) }).catch((error: unknown) => {
      this.#written.delete(key);
      this.#log.warn({ err: error instanceof Error ? error.message : 'unknown', model: entry.model }, 'could not record a model version; tried again on the next probe');
    });
  }
}

function keyOf(model: string, version: string): string {
  return `${model}\u0000${version}`;
}
