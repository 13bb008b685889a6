/**
 * The error catalogue: every code Switchyard can answer with, once. An AppError
 * takes its status, type, `retryable` and default message from here, so a code
 * cannot mean two things in two places. docs/errors.md lists the same table
 * (a test keeps them in step).
 *
 * Codes are `SY_*`, except where OpenAI's own code is already what clients
 * match on (`model_not_found`, `rate_limit_exceeded`, `insufficient_quota`):
 * those keep OpenAI's spelling, and `insufficient_quota` OpenAI's type too.
 */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'conflict_error'
  | 'rate_limit_error'
  | 'insufficient_quota'
  | 'upstream_error'
  | 'server_error';

export interface CatalogueEntry {
  status: number;
  type: ErrorType;
  /** Whether the same request may succeed if sent again later (drives `x-should-retry`). */
  retryable: boolean;
  /** Safe to show; used when the code that raises the error adds no detail. */
  message: string;
  /** The status is the model server's own 4xx, passed through (the entry's status is the usual one). */
  passesUpstreamStatus?: true;
  /** Never written to a client (it had gone): usage records and metrics only. */
  recordedOnly?: true;
}

export const errorCodes = {
  // The caller's request.
  SY_INVALID_REQUEST: { status: 400, type: 'invalid_request_error', retryable: false, message: 'The request is invalid.' },
  SY_INVALID_JSON: { status: 400, type: 'invalid_request_error', retryable: false, message: 'Request body is not valid JSON.' },
  SY_INVALID_URL: { status: 400, type: 'invalid_request_error', retryable: false, message: 'The request URL is malformed.' },
  SY_BAD_HTTP_REQUEST: { status: 400, type: 'invalid_request_error', retryable: false, message: 'The request is not valid HTTP.' },
  SY_UNSUPPORTED_OPERATION: { status: 400, type: 'invalid_request_error', retryable: false, message: 'The model cannot serve this kind of request.' },
  SY_UNAUTHENTICATED: {
    status: 401,
    type: 'authentication_error',
    retryable: false,
    message: 'Missing or invalid API key. Send it as "Authorization: Bearer <key>".',
  },
  SY_FORBIDDEN: { status: 403, type: 'permission_error', retryable: false, message: 'This key lacks the scope needed for this request.' },
  SY_NOT_FOUND: { status: 404, type: 'not_found_error', retryable: false, message: 'Not found.' },
  SY_ROUTE_NOT_FOUND: { status: 404, type: 'not_found_error', retryable: false, message: 'No such route.' },
  SY_MODEL_DEACTIVATED: { status: 404, type: 'not_found_error', retryable: false, message: 'The model is deactivated by an administrator: it is listed, but not served.' },
  SY_ROUTE_UNRESOLVED: { status: 404, type: 'not_found_error', retryable: false, message: "The route's targets name no model any server serves." },
  model_not_found: { status: 404, type: 'not_found_error', retryable: false, message: 'The model does not exist or is not served by any registered server.' },
  SY_REQUEST_TIMEOUT: { status: 408, type: 'invalid_request_error', retryable: true, message: 'The request did not arrive in time.' },
  SY_CONFLICT: { status: 409, type: 'conflict_error', retryable: false, message: 'The request conflicts with the current state.' },
  SY_MANAGED_BY_FLEET_FILE: {
    status: 409,
    type: 'conflict_error',
    retryable: false,
    message: 'The fleet file manages this record: edit the file and restart Switchyard.',
  },
  SY_VECTOR_SIZE_MISMATCH: { status: 409, type: 'conflict_error', retryable: false, message: "A vector's size differs from its collection's; nothing was stored." },
  SY_TOO_MANY_ITEMS: { status: 413, type: 'invalid_request_error', retryable: false, message: 'The request holds more items than the limit.' },
  SY_BODY_TOO_LARGE: { status: 413, type: 'invalid_request_error', retryable: false, message: 'Request body is larger than the limit.' },
  SY_GRAPHQL_INVALID: { status: 400, type: 'invalid_request_error', retryable: false, message: 'The GraphQL document is not valid against the schema.' },
  SY_GRAPHQL_TOO_COMPLEX: { status: 400, type: 'invalid_request_error', retryable: false, message: 'The GraphQL document asks for more than one request may.' },
  SY_BATCH_TOO_LARGE: { status: 413, type: 'invalid_request_error', retryable: false, message: 'The request holds more inputs than the limit.' },
  SY_URL_TOO_LONG: { status: 414, type: 'invalid_request_error', retryable: false, message: 'A part of the request URL is too long.' },
  SY_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    type: 'invalid_request_error',
    retryable: false,
    message: 'Request body must be JSON (content-type: application/json).',
  },
  SY_DETECTION_FAILED: { status: 422, type: 'invalid_request_error', retryable: false, message: 'Could not detect the server type.' },
  SY_MODEL_SATURATED: { status: 429, type: 'rate_limit_error', retryable: true, message: 'Every server of this model is at capacity and its queue is full.' },
  rate_limit_exceeded: { status: 429, type: 'rate_limit_error', retryable: true, message: 'Rate limit reached for this key.' },
  insufficient_quota: { status: 429, type: 'insufficient_quota', retryable: false, message: "This key's token budget is used up." },
  SY_HEADERS_TOO_LARGE: { status: 431, type: 'invalid_request_error', retryable: false, message: 'The request headers are too large.' },
  SY_CLIENT_DISCONNECTED: { status: 499, type: 'invalid_request_error', retryable: false, message: 'The client went away before the answer.', recordedOnly: true },

  // Switchyard itself.
  SY_INTERNAL: { status: 500, type: 'server_error', retryable: false, message: 'Internal error.' },
  SY_UPGRADE_REQUIRED: { status: 426, type: 'invalid_request_error', retryable: false, message: 'This endpoint speaks WebSocket: open it with an Upgrade: websocket request.' },
  SY_SHUTTING_DOWN: { status: 503, type: 'server_error', retryable: true, message: 'Switchyard is shutting down; send the request again.' },
  SY_NO_HEALTHY_DEPLOYMENT: { status: 503, type: 'server_error', retryable: true, message: 'No healthy server can serve the model right now. Try again shortly.' },
  SY_NO_MODEL_FOR_AUTO: { status: 503, type: 'server_error', retryable: true, message: 'No healthy model has the capabilities this request needs.' },
  SY_QUOTA_UNAVAILABLE: {
    status: 503,
    type: 'server_error',
    retryable: true,
    message: "Rate limits and budgets cannot be checked right now (their store is unreachable), so this key's request is refused. Try again shortly.",
  },
  SY_STARTING: { status: 503, type: 'server_error', retryable: true, message: 'Switchyard is starting and waits for its database, which is not reachable yet; nothing was done. Try again shortly.' },
  SY_STORAGE_UNAVAILABLE: { status: 503, type: 'server_error', retryable: true, message: 'Storage is unavailable right now, so this request could not be completed (nothing was saved). Inference keeps working; try again shortly.' },
  SY_CONSOLE_NOT_BUILT: { status: 503, type: 'server_error', retryable: false, message: 'The console is not built; run npm run build:ui to build it.' },

  // Model servers.
  SY_UPSTREAM_UNREACHABLE: { status: 502, type: 'upstream_error', retryable: true, message: 'The model server could not be reached.' },
  SY_OPERATION_FAILED: { status: 502, type: 'upstream_error', retryable: true, message: 'The fleet operation failed on the model servers.' },
  SY_UPSTREAM_STATUS: { status: 502, type: 'upstream_error', retryable: true, message: 'The model server answered with an error.' },
  SY_UPSTREAM_PROTOCOL: { status: 502, type: 'upstream_error', retryable: true, message: 'The model server answered something Switchyard cannot read.' },
  SY_UPSTREAM_AUTH: {
    status: 502,
    type: 'upstream_error',
    retryable: false,
    message: "The model server rejected Switchyard's credentials for it; an operator must fix its API key.",
  },
  SY_EMBEDDING_DIMENSION_MISMATCH: {
    status: 502,
    type: 'upstream_error',
    retryable: true,
    message: "Every server tried answered embeddings of another dimension than the model's.",
  },
  SY_UPSTREAM_STREAM_BROKEN: { status: 502, type: 'upstream_error', retryable: false, message: "The model server's stream broke off." },
  SY_UPSTREAM_BUSY: { status: 429, type: 'rate_limit_error', retryable: true, message: 'The model servers for this model are busy; retry later.' },
  SY_UPSTREAM_UNAVAILABLE: { status: 503, type: 'upstream_error', retryable: true, message: 'The model server is unavailable.' },
  // The Hugging Face Hub (HF_ENDPOINT).
  SY_HUB_UNREACHABLE: { status: 502, type: 'upstream_error', retryable: true, message: 'The Hugging Face Hub could not be reached.' },
  SY_HUB_STATUS: { status: 502, type: 'upstream_error', retryable: true, message: 'The Hugging Face Hub answered with an error.' },
  SY_UPSTREAM_TIMEOUT: { status: 504, type: 'upstream_error', retryable: true, message: 'The model server did not answer in time.' },
  SY_UPSTREAM_INVALID_REQUEST: {
    status: 400,
    type: 'invalid_request_error',
    retryable: false,
    message: 'The model server refused the request.',
    passesUpstreamStatus: true,
  },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof errorCodes;

export function catalogueEntry(code: ErrorCode): CatalogueEntry {
  return errorCodes[code];
}
