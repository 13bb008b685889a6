export type Operation = 'chat' | 'completion' | 'embeddings' | 'rerank';

/** How one request goes to one kind of server. */
export interface UpstreamPlan {
  path: string;
  body: Record<string, unknown>;
  /**
   * Turns the server's JSON answer into the OpenAI (or rerank) shape. Absent
   * when the server already speaks it: then its bytes pass through untouched.
   */
  translate?: (answer: unknown) => unknown;
}

/** Per server kind: the request mapping for each operation, null where the kind cannot serve it. */
export interface InferenceMapping {
  plan(operation: Operation, body: Record<string, unknown>, modelId: string): UpstreamPlan | null;
  /** Whether streamed answers are OpenAI SSE that can pass through chunk by chunk. */
  readonly streamsOpenAISse: boolean;
}

export const openAIPaths: Record<Operation, string> = {
  chat: '/v1/chat/completions',
  completion: '/v1/completions',
  embeddings: '/v1/embeddings',
  rerank: '/v1/rerank',
};

/** The OpenAI-compatible mapping: same path, same body, the served model's id. */
export const passThroughMapping: InferenceMapping = {
  streamsOpenAISse: true,
  plan(operation, body, modelId) {
    return { path: openAIPaths[operation], body: { ...body, model: modelId } };
  },
};
