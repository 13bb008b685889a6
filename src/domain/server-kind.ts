/**
 * The id of a kind of model server: one module per kind, listed once in
 * data/adapters/server-kinds.ts (and kinds registered at run time).
 */
export type ServerKind = string;

/**
 * The kind of a server registered before it could be detected (a fleet-file
 * server without `server_type` that did not answer at start). Never a
 * registered kind: the health loop detects the real one when it answers.
 */
export const undetectedKind = 'unknown';

/** What a model can do; mapped from what each server reports. */
export const modelCapabilities = ['chat', 'completion', 'embedding', 'rerank', 'code', 'vision', 'tools'] as const;
export type ModelCapability = (typeof modelCapabilities)[number];

export const healthStatuses = ['online', 'degraded', 'offline', 'unknown'] as const;
export type HealthStatus = (typeof healthStatuses)[number];
