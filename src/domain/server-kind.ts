/** The kinds of model server Switchyard speaks to; one adapter folder each. */
export const serverKinds = ['ollama', 'vllm', 'openai', 'embedding', 'reranker'] as const;
export type ServerKind = (typeof serverKinds)[number];

/** What a model can do; mapped from what each server reports. */
export const modelCapabilities = ['chat', 'completion', 'embedding', 'rerank', 'code', 'vision', 'tools'] as const;
export type ModelCapability = (typeof modelCapabilities)[number];

export const healthStatuses = ['online', 'degraded', 'offline', 'unknown'] as const;
export type HealthStatus = (typeof healthStatuses)[number];
