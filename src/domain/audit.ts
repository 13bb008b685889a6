/** Who changed something: the key (or `fleet-file`, `discovery`), the request, the address. */
export interface Actor {
  keyId: string | null;
  requestId: string | null;
  sourceIp: string | null;
}

/** One admin change, written in the same transaction as the change itself. */
export interface AuditEntry {
  actor: Actor;
  action: string;
  targetType: 'server' | 'route' | 'key' | 'webhook' | 'setting' | 'cache_policy' | 'collection' | 'model' | 'operation' | 'placement';
  targetId: string | null;
  /** Public views only: secrets are never part of them. */
  before: unknown;
  after: unknown;
}

export const systemActor = (name: 'fleet-file' | 'discovery' | 'gateway'): Actor => ({ keyId: name, requestId: null, sourceIp: null });
