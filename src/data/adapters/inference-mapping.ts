export type Operation = 'chat' | 'completion' | 'embeddings' | 'rerank';

/**
 * A request in a server's own API (Ollama's `/api/chat`, say), passed through
 * untouched to a deployment whose kind speaks it; any other deployment gets
 * the request's OpenAI translation instead.
 */
export interface NativeRequest {
  api: 'ollama' | 'anthropic' | 'responses';
  /** The native path: `/api/chat`, `/api/generate`, `/api/embed`, `/api/embeddings`, `/v1/messages`, `/v1/responses`. */
  path: string;
  body: Record<string, unknown>;
}

/**
 * Turns a server's own stream into OpenAI SSE, one event at a time. Kinds that
 * already stream OpenAI SSE have none: their bytes are relayed untouched.
 */
export interface StreamTranslator {
  /** One upstream event's `data` (lines joined); returns the OpenAI `data` payloads to send, in order. */
  event(data: string): readonly string[];
  /**
   * The upstream stream ended cleanly: the closing payloads. It must end with
   * exactly one terminal `[DONE]`; it throws when the server stopped before
   * its own final event (then the client gets an error event instead).
   */
  end(): readonly string[];
  /** Tokens as the server reported them, once it has. */
  usage(): { promptTokens: number; completionTokens: number } | null;
}

/** How one request goes to one server. */
export interface UpstreamPlan {
  /** POST unless the kind says otherwise. */
  method?: 'POST' | 'PUT';
  path: string;
  /** The server's auth headers (the caller's own `Authorization` is never forwarded). */
  headers: Record<string, string>;
  body: Record<string, unknown>;
  /**
   * Turns the server's JSON answer into the OpenAI (or rerank) shape. Absent
   * when the server already speaks it: then its bytes pass through untouched.
   */
  translate?: (answer: unknown) => unknown;
  /** For `stream: true` when the server streams its own event format. */
  stream?: StreamTranslator;
  /**
   * The server cannot stream: it is asked for one JSON answer, and a caller
   * that asked for a stream gets that answer as a well-formed OpenAI SSE stream.
   */
  synthesizeStream?: boolean;
  /** The caller's native request, passed through: its answer goes back untouched, in the server's own shape. */
  native?: true;
  /** A native request's stream is newline-delimited JSON (Ollama's), not SSE. */
  framing?: 'ndjson';
  /** Tokens in a native JSON answer (the kind's readUsage reads OpenAI's shape). */
  readUsage?: (answer: Buffer) => { promptTokens: number; completionTokens: number };
  /** Tokens in a native SSE stream's events (the relay reads OpenAI's usage chunk otherwise); null when these events carry none. */
  streamUsage?: (events: Buffer) => { promptTokens: number; completionTokens: number } | null;
}

export const openAIPaths: Record<Operation, string> = {
  chat: '/v1/chat/completions',
  completion: '/v1/completions',
  embeddings: '/v1/embeddings',
  rerank: '/v1/rerank',
};

/** `Authorization: Bearer <key>`, what OpenAI-style servers expect. */
export function bearerHeaders(apiKey: string | null): Record<string, string> {
  return apiKey === null ? {} : { authorization: `Bearer ${apiKey}` };
}

/** The OpenAI-compatible request: same path, same body, the served model's id. */
export function openAIPlan(operation: Operation, body: Record<string, unknown>, modelId: string, headers: Record<string, string>): UpstreamPlan {
  return { path: openAIPaths[operation], headers, body: { ...body, model: modelId } };
}
