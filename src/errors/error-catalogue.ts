import { AppError } from './app-error.ts';
import { UpstreamError } from '../data/upstream/upstream-error.ts';

const operationNoun = { chat: 'chat', completion: 'completions', embeddings: 'embeddings', rerank: 'rerank' } as const;

/** `a`, `a and b`, `a, b and c`. */
function spokenList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/**
 * Constructors for the catalogue's errors (src/errors/error-codes.ts), with
 * the detail each one adds to its message. Messages here are safe to show.
 */
export const errors = {
  invalidRequest: (message: string, param: string | null = null) => new AppError('SY_INVALID_REQUEST', { message, param }),
  invalidJson: () => new AppError('SY_INVALID_JSON'),
  invalidUrl: () => new AppError('SY_INVALID_URL'),
  urlTooLong: () => new AppError('SY_URL_TOO_LONG'),
  badHttpRequest: () => new AppError('SY_BAD_HTTP_REQUEST'),
  headersTooLarge: () => new AppError('SY_HEADERS_TOO_LARGE'),
  requestTimeout: () => new AppError('SY_REQUEST_TIMEOUT'),
  bodyTooLarge: (limitBytes: number) => new AppError('SY_BODY_TOO_LARGE', { message: `Request body is larger than the limit of ${limitBytes} bytes.` }),
  batchTooLarge: (inputs: number, limit: number) =>
    new AppError('SY_BATCH_TOO_LARGE', { message: `The request holds ${inputs} inputs; the limit is ${limit} (SWITCHYARD_EMBEDDING_MAX_INPUTS). Send them in several requests.`, param: 'input' }),
  /** `asked`: the caller set `dimensions` (servers that ignore it are not taken out of rotation). */
  embeddingDimensionMismatch: (model: string, expected: number, answered: number, asked: boolean) =>
    new AppError('SY_EMBEDDING_DIMENSION_MISMATCH', {
      message: asked
        ? `Every server tried answered \`${model}\` embeddings of ${answered} dimensions where ${expected} were asked (\`dimensions\`): they do not support shortening this model's vectors.`
        : `Every server tried answered \`${model}\` embeddings of ${answered} dimensions where the model's are ${expected}; those servers are out of rotation for it until their next health check.`,
      ...(asked ? { param: 'dimensions' } : {}),
    }),
  unsupportedMediaType: () => new AppError('SY_UNSUPPORTED_MEDIA_TYPE'),
  upgradeRequired: () => new AppError('SY_UPGRADE_REQUIRED'),
  unauthenticated: () => new AppError('SY_UNAUTHENTICATED'),
  forbidden: (scope: string) => new AppError('SY_FORBIDDEN', { message: `This key lacks the "${scope}" scope needed for this request.` }),
  notFound: (what: string, message?: string) => new AppError('SY_NOT_FOUND', { message: message ?? `${what} not found.` }),
  operationFailed: (message: string) => new AppError('SY_OPERATION_FAILED', { message }),
  routeNotFound: (method: string, url: string) => new AppError('SY_ROUTE_NOT_FOUND', { message: `No route for ${method} ${url}.` }),
  conflict: (message: string, param: string | null = null) => new AppError('SY_CONFLICT', { message, param }),
  vectorSizeMismatch: (collection: string, expected: number, got: number, param: string | null = null) =>
    new AppError('SY_VECTOR_SIZE_MISMATCH', {
      message: `The collection \`${collection}\` holds vectors of size ${expected}, and this vector has size ${got}; nothing was stored.`,
      param,
    }),
  tooManyItems: (limit: number, got: number, param: string) =>
    new AppError('SY_TOO_MANY_ITEMS', { message: `The request holds ${got} items; the limit is ${limit} per request (SWITCHYARD_VECTOR_MAX_ITEMS).`, param }),
  managedByFleetFile: (what: string, fleetFile: string) =>
    new AppError('SY_MANAGED_BY_FLEET_FILE', {
      message: `${what} is managed by the fleet file ${fleetFile} (the config_file setting, SWITCHYARD_CONFIG), which is applied at every start: edit it there and restart Switchyard. A change made here would be undone at the next start.`,
    }),
  detectionFailed: (detail: string, cause?: unknown) =>
    new AppError('SY_DETECTION_FAILED', {
      message: `Could not detect the server type: ${detail}. Check the URL, or pass server_type explicitly.`,
      cause,
      param: 'base_url',
    }),
  unknownModel: (name: string, suggestions: string[]) =>
    new AppError('model_not_found', {
      message: `The model \`${name}\` does not exist or is not served by any registered server.${suggestions.length > 0 ? ` Did you mean: ${suggestions.join(', ')}?` : ''}`,
      param: 'model',
    }),
  /** `serves`: what the model can do instead (`general` serves embedding only, not chat). */
  unsupportedOperation: (model: string, operation: 'chat' | 'completion' | 'embeddings' | 'rerank', serves: readonly string[]) =>
    new AppError('SY_UNSUPPORTED_OPERATION', {
      message:
        serves.length === 0
          ? `The model \`${model}\` serves none of chat, completion, embedding or rerank, so not ${operationNoun[operation]}.`
          : `The model \`${model}\` serves ${spokenList(serves)} only, not ${operationNoun[operation]}.`,
      param: 'model',
    }),
  /** Requests or tokens per minute: one code, as OpenAI's; the message and x-ratelimit-* headers say which. */
  rateLimited: (what: string, retryAfterMs: number) =>
    new AppError('rate_limit_exceeded', { message: `Rate limit reached for ${what}. Retry after ${Math.ceil(retryAfterMs / 1000)} s.`, retryAfterMs }),
  budgetExhausted: (budgetTokens: number | null, usedTokens: number, neededTokens?: number) =>
    new AppError('insufficient_quota', {
      message: `This key's token budget of ${budgetTokens} tokens is used up (${usedTokens} used${
        neededTokens === undefined ? '' : `; this request needs up to ${neededTokens}, ${Math.max(0, (budgetTokens ?? 0) - usedTokens)} are left — a smaller max_tokens may fit`
      }). Ask an administrator to raise it.`,
    }),
  costBudgetExhausted: (budget: number, spent: number, currency: string) =>
    new AppError('insufficient_quota', {
      message: `This key's budget of ${budget} ${currency} is used up (${Math.round(spent * 1e6) / 1e6} ${currency} spent at the models' prices). Ask an administrator to raise it.`,
    }),
  routeUnresolved: (route: string, targets: string[], fallbacks: string[]) =>
    new AppError('SY_ROUTE_UNRESOLVED', {
      message: `The route \`${route}\` cannot be served: its targets (${targets.join(', ')})${fallbacks.length > 0 ? ` and fallbacks (${fallbacks.join(', ')})` : ''} name no model that any registered server serves or declares. Fix the route, or add a server with one of those models.`,
      param: 'model',
    }),
  /** Every deployment at capacity and the model's queue full (or the wait too long): shed, to be sent again shortly. */
  modelSaturated: (model: string, why: 'full' | 'waited') =>
    new AppError('SY_MODEL_SATURATED', {
      message: why === 'full' ? `The model \`${model}\` is saturated: every server is at capacity and its queue is full (SWITCHYARD_QUEUE_MAX_LENGTH). Try again shortly.` : `The model \`${model}\` is saturated: the request waited SWITCHYARD_QUEUE_MAX_WAIT_MS for a free server. Try again shortly.`,
      param: 'model',
      retryAfterMs: 1_000,
    }),
  modelDeactivated: (model: string) => new AppError('SY_MODEL_DEACTIVATED', { message: `The model ${model} is deactivated by an administrator: it is listed, but not served.`, param: 'model' }),
  noHealthyDeployment: (model: string) =>
    new AppError('SY_NO_HEALTHY_DEPLOYMENT', { message: `No healthy server can serve \`${model}\` right now. Try again shortly.` }),
  noModelForAuto: (operation: string) =>
    new AppError('SY_NO_MODEL_FOR_AUTO', {
      message: `No healthy model can serve this ${operation} request (auto found none with the capabilities it needs).`,
      param: 'model',
    }),
  upstreamRejectedKey: () => new AppError('SY_UPSTREAM_AUTH'),
  /** A model server's 4xx: the caller's mistake, answered with the server's status and (capped) message. */
  upstreamRefused: (status: number, message: string) => new AppError('SY_UPSTREAM_INVALID_REQUEST', { status, message }),
  /** Redis unreachable and the quota policy is fail-closed. */
  quotaUnavailable: (retryAfterMs: number) => new AppError('SY_QUOTA_UNAVAILABLE', { retryAfterMs }),
  // A model server that answers what we cannot read: SY_UPSTREAM_PROTOCOL, a failure of that server
  // (breaker strike, retried elsewhere before the caller's first byte, a final stream event after).
  upstreamNotJson: (cause?: unknown) => new UpstreamError('The model server answered something that is not JSON.', { failure: 'protocol', cause }),
  upstreamMalformedEvent: () => new UpstreamError('The model server sent a stream event that is not JSON.', { failure: 'protocol' }),
  upstreamEventTooLarge: (limitBytes: number) =>
    new UpstreamError(`The model server sent a stream event larger than the limit of ${limitBytes} bytes.`, { failure: 'protocol' }),
  upstreamEmptyStream: () => new UpstreamError('The model server ended its stream without sending an event.', { failure: 'protocol' }),
  streamBroken: (detail: string, cause?: unknown) =>
    new AppError('SY_UPSTREAM_STREAM_BROKEN', { message: `The model server's stream broke off: ${detail}.`, cause }),
  hubUnreachable: (detail: string) => new AppError('SY_HUB_UNREACHABLE', { message: `The Hugging Face Hub could not be reached: ${detail}.` }),
  hubStatus: (message: string) => new AppError('SY_HUB_STATUS', { message }),
  clientDisconnected: () => new AppError('SY_CLIENT_DISCONNECTED'),
  shuttingDown: () => new AppError('SY_SHUTTING_DOWN'),
  consoleNotBuilt: () => new AppError('SY_CONSOLE_NOT_BUILT'),
  starting: (retryAfterMs: number) => new AppError('SY_STARTING', { retryAfterMs }),
  storageUnavailable: (cause: unknown) => new AppError('SY_STORAGE_UNAVAILABLE', { cause }),
  internal: (cause: unknown) => new AppError('SY_INTERNAL', { cause }),
} as const;
