import type { PriorityClass } from '../data/admission/fair-queue.ts';
import { randomUUID } from 'node:crypto';
import type { Actor } from '../domain/audit.ts';
import { errors } from '../errors/error-catalogue.ts';
import type { ApiKeyStore } from '../storage/api-key-store.ts';
import type { ApiKeysTable } from '../storage/database-schema.ts';
import { displayPrefix, generateApiKey } from './api-key-hash.ts';
import { principalOf, toKeyRecord } from './key-record.ts';
import type { KeyRing, Scope } from './key-ring.ts';
import type { QuotaService } from './quota/quota-service.ts';

export interface KeyInput {
  name?: string;
  scopes?: Scope[];
  models?: string[] | null;
  rpm?: number | null;
  tpm?: number | null;
  budget_tokens?: number | null;
  budget_cost?: number | null;
  priority?: PriorityClass;
  expires_at?: string | null;
  metadata?: Record<string, unknown>;
}

type KeyRecord = ReturnType<typeof toKeyRecord>;

/** Creating, changing, revoking and rotating Switchyard keys; every change is audited in its transaction. */
export class KeyService {
  readonly #store: ApiKeyStore;
  readonly #ring: KeyRing;
  readonly #quota: QuotaService;

  constructor(store: ApiKeyStore, ring: KeyRing, quota: QuotaService) {
    this.#store = store;
    this.#ring = ring;
    this.#quota = quota;
  }

  /** The plaintext key is in this answer once and nowhere else, ever. */
  async create(input: KeyInput & { name: string; scopes: Scope[] }, actor: Actor): Promise<{ record: KeyRecord; key: string }> {
    const key = generateApiKey();
    const row: ApiKeysTable = {
      id: randomUUID(),
      name: input.name,
      key_hash: this.#ring.hash(key),
      prefix: displayPrefix(key),
      scopes: JSON.stringify(input.scopes),
      models: input.models === undefined || input.models === null ? null : JSON.stringify(input.models),
      rpm: input.rpm ?? null,
      tpm: input.tpm ?? null,
      budget_tokens: input.budget_tokens ?? null,
      used_tokens: 0,
      budget_cost: input.budget_cost ?? null,
      used_cost: 0,
      priority: input.priority ?? 'standard',
      expires_at: normalizeTime(input.expires_at ?? null),
      revoked_at: null,
      last_used_at: null,
      metadata: JSON.stringify(input.metadata ?? {}),
      created_at: new Date().toISOString(),
    };
    const record = toKeyRecord(row);
    await this.#store.insert(row, { actor, action: 'key.create', targetType: 'key', targetId: row.id, before: null, after: record });
    this.#ring.add(row.key_hash, principalOf(row));
    return { record, key };
  }

  async list(): Promise<KeyRecord[]> {
    const rows = await this.#store.listAll();
    return Promise.all(rows.map(async (row) => toKeyRecord(row, await this.#usedTokens(row), Date.now(), this.#quota.spentHere(row.id, Number(row.used_cost ?? 0)))));
  }

  async get(id: string): Promise<KeyRecord> {
    const row = await this.#require(id);
    return toKeyRecord(row, await this.#usedTokens(row), Date.now(), this.#quota.spentHere(row.id, Number(row.used_cost ?? 0)));
  }

  async update(id: string, input: KeyInput, actor: Actor): Promise<KeyRecord> {
    const current = await this.#require(id);
    if (current.revoked_at !== null) throw errors.conflict('This key is revoked and cannot be changed.');
    const next: ApiKeysTable = { ...current };
    if (input.name !== undefined) next.name = input.name;
    if (input.scopes !== undefined) next.scopes = JSON.stringify(input.scopes);
    if (input.models !== undefined) next.models = input.models === null ? null : JSON.stringify(input.models);
    if (input.rpm !== undefined) next.rpm = input.rpm;
    if (input.tpm !== undefined) next.tpm = input.tpm;
    if (input.budget_tokens !== undefined) next.budget_tokens = input.budget_tokens;
    if (input.budget_cost !== undefined) next.budget_cost = input.budget_cost;
    if (input.priority !== undefined) next.priority = input.priority;
    if (input.expires_at !== undefined) next.expires_at = normalizeTime(input.expires_at);
    if (input.metadata !== undefined) next.metadata = JSON.stringify(input.metadata);
    await this.#store.update(next, { actor, action: 'key.update', targetType: 'key', targetId: id, before: toKeyRecord(current), after: toKeyRecord(next) });
    this.#ring.updatePrincipal(principalOf(next));
    // A changed budget answers with the status it gives now (the quota backend counts ahead of storage).
    return toKeyRecord(next, await this.#usedTokens(next));
  }

  async revoke(id: string, actor: Actor): Promise<void> {
    const current = await this.#require(id);
    if (current.revoked_at !== null) return;
    const next = { ...current, revoked_at: new Date().toISOString() };
    await this.#store.update(next, { actor, action: 'key.revoke', targetType: 'key', targetId: id, before: toKeyRecord(current), after: toKeyRecord(next) });
    this.#ring.removeKey(id);
  }

  /** A new secret for the same key (id, limits, usage); the old secret stops working at once. */
  async rotate(id: string, actor: Actor): Promise<{ record: KeyRecord; key: string }> {
    const current = await this.#require(id);
    if (current.revoked_at !== null) throw errors.conflict('This key is revoked and cannot be rotated.');
    const key = generateApiKey();
    const next = { ...current, key_hash: this.#ring.hash(key), prefix: displayPrefix(key) };
    await this.#store.update(next, { actor, action: 'key.rotate', targetType: 'key', targetId: id, before: toKeyRecord(current), after: toKeyRecord(next) });
    this.#ring.removeKey(id);
    this.#ring.add(next.key_hash, principalOf(next));
    return { record: toKeyRecord(next), key };
  }

  /**
   * Reads keys afresh from storage: another replica created, changed, rotated
   * or revoked one (`id`), or this one may have missed such changes (all).
   */
  async reload(id?: string): Promise<void> {
    const now = Date.now();
    const usable = (row: ApiKeysTable) => row.revoked_at === null && (row.expires_at === null || Date.parse(row.expires_at) > now);
    if (id === undefined) {
      const rows = await this.#store.listAll();
      this.#ring.replaceStored(new Set(rows.map((row) => row.id)), rows.filter(usable).map((row) => ({ hash: row.key_hash, principal: principalOf(row) })));
      return;
    }
    const row = await this.#store.get(id);
    this.#ring.removeKey(id);
    if (row !== undefined && usable(row)) this.#ring.add(row.key_hash, principalOf(row));
  }

  /** Storage lags the quota backend by a flush; the backend may have restarted empty: the larger is right. */
  async #usedTokens(row: ApiKeysTable): Promise<number> {
    return Math.max(Number(row.used_tokens), (await this.#quota.usedTokens(row.id)) ?? 0);
  }

  async #require(id: string): Promise<ApiKeysTable> {
    const row = await this.#store.get(id);
    if (row === undefined) throw errors.notFound(`API key ${id}`);
    return row;
  }
}

function normalizeTime(value: string | null): string | null {
  if (value === null) return null;
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw errors.invalidRequest('expires_at must be an ISO-8601 date-time.', 'expires_at');
  return new Date(time).toISOString();
}
