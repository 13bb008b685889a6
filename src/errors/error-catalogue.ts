import { AppError } from './app-error.ts';
import { UpstreamError } from '../data/upstream/upstream-error.ts';

/** Every error Switchyard raises, by stable code. Messages here are safe to show. */
export const errors = {
  invalidRequest: (message: string, param: string | null = null) =>
    new AppError(message, { code: 'SY_INVALID_REQUEST', status: 400, type: 'invalid_request_error', param }),
  invalidJson: () =>
    new AppError('Request body is not valid JSON.', { code: 'SY_INVALID_JSON', status: 400, type: 'invalid_request_error' }),
  bodyTooLarge: (limitBytes: number) =>
    new AppError(`Request body is larger than the limit of ${limitBytes} bytes.`, {
      code: 'SY_BODY_TOO_LARGE',
      status: 413,
      type: 'invalid_request_error',
    }),
  unsupportedMediaType: () =>
    new AppError('Request body must be JSON (content-type: application/json).', {
      code: 'SY_UNSUPPORTED_MEDIA_TYPE',
      status: 415,
      type: 'invalid_request_error',
    }),
  unauthenticated: () =>
    new AppError('Missing or invalid API key. Send it as "Authorization: Bearer <key>".', {
      code: 'SY_UNAUTHENTICATED',
      status: 401,
      type: 'authentication_error',
    }),
  forbidden: (scope: string) =>
    new AppError(`This key lacks the "${scope}" scope needed for this request.`, {
      code: 'SY_FORBIDDEN',
      status: 403,
      type: 'permission_error',
    }),
  notFound: (what: string) =>
    new AppError(`${what} not found.`, { code: 'SY_NOT_FOUND', status: 404, type: 'not_found_error' }),
  routeNotFound: (method: string, url: string) =>
    new AppError(`No route for ${method} ${url}.`, { code: 'SY_ROUTE_NOT_FOUND', status: 404, type: 'not_found_error' }),
  conflict: (message: string, param: string | null = null) =>
    new AppError(message, { code: 'SY_CONFLICT', status: 409, type: 'conflict_error', param }),
  detectionFailed: (detail: string) =>
    new AppError(`Could not detect the server type: ${detail}. Check the URL, or pass server_type explicitly.`, {
      code: 'SY_DETECTION_FAILED',
      status: 422,
      type: 'invalid_request_error',
      param: 'base_url',
    }),
  unknownModel: (name: string, suggestions: string[]) =>
    new AppError(
      `The model \`${name}\` does not exist or is not served by any registered server.${suggestions.length > 0 ? ` Did you mean: ${suggestions.join(', ')}?` : ''}`,
      { code: 'model_not_found', status: 404, type: 'not_found_error', param: 'model' },
    ),
  unsupportedOperation: (model: string, operation: string) =>
    new AppError(`The model \`${model}\` cannot serve ${operation} requests.`, {
      code: 'SY_UNSUPPORTED_OPERATION',
      status: 400,
      type: 'invalid_request_error',
      param: 'model',
    }),
  noHealthyDeployment: (model: string) =>
    new AppError(`No healthy server can serve \`${model}\` right now. Try again shortly.`, {
      code: 'SY_NO_HEALTHY_DEPLOYMENT',
      status: 503,
      type: 'server_error',
      retryable: true,
    }),
  noModelForAuto: (operation: string) =>
    new AppError(`No healthy model can serve this ${operation} request (auto found none with the capabilities it needs).`, {
      code: 'SY_NO_MODEL_FOR_AUTO',
      status: 503,
      type: 'server_error',
      retryable: true,
      param: 'model',
    }),
  upstreamRejectedKey: () =>
    new AppError('The model server rejected Switchyard\'s credentials for it; an operator must fix its API key.', {
      code: 'SY_UPSTREAM_AUTH',
      status: 502,
      type: 'server_error',
    }),
  // A model server that answers what we cannot read: SY_UPSTREAM_PROTOCOL, a failure of that server
  // (breaker strike, retried elsewhere before the caller's first byte, a final stream event after).
  upstreamNotJson: (cause?: unknown) => new UpstreamError('The model server answered something that is not JSON.', { failure: 'protocol', cause }),
  upstreamMalformedEvent: () => new UpstreamError('The model server sent a stream event that is not JSON.', { failure: 'protocol' }),
  upstreamEventTooLarge: (limitBytes: number) =>
    new UpstreamError(`The model server sent a stream event larger than the limit of ${limitBytes} bytes.`, { failure: 'protocol' }),
  upstreamEmptyStream: () => new UpstreamError('The model server ended its stream without sending an event.', { failure: 'protocol' }),
  internal: (cause: unknown) =>
    new AppError('Internal error.', { code: 'SY_INTERNAL', status: 500, type: 'server_error', cause }),
} as const;
