import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isAppError } from '../../errors/app-error.ts';
import { errors } from '../../errors/error-catalogue.ts';
import { errorBody, errorHeaders, errorShapeFor, statusIn, writeErrorToSocket } from '../../errors/error-reply.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The error this request was answered with, if any (so /v1 can record what the client saw). */
    answeredError: AppError | null;
  }
}

/**
 * Every error Fastify's handlers, hooks, parsers and router raise is answered
 * through the catalogue and the one serialiser, in the shape of the API the
 * path belongs to. No `FST_*` code or Fastify message shape reaches a client.
 * A 5xx never carries upstream detail or a secret; the log gets the cause.
 */
export function registerErrorHandler(app: FastifyInstance, bodyLimit: number): void {
  app.decorateRequest('answeredError', null);
  app.setErrorHandler((error: FastifyError | AppError, request: FastifyRequest, reply: FastifyReply) => {
    const appError = toAppError(error, bodyLimit);
    if (appError.status >= 500) {
      request.log.error({ err: error, code: appError.code }, 'request failed');
    } else {
      // Debug: the request's summary line already carries the code (request-log.ts).
      request.log.debug({ code: appError.code, status: appError.status, ...(isAppError(error) ? {} : { raised: error.code }) }, appError.message);
    }
    return sendError(request, reply, appError);
  });

  app.setNotFoundHandler((request, reply) => sendError(request, reply, errors.routeNotFound(request.method, request.url.split('?')[0] ?? '/')));
}

function sendError(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  request.answeredError = error;
  const shape = errorShapeFor(request.url);
  return reply.status(statusIn(error, shape)).headers(errorHeaders(error, request.id)).send(errorBody(error, shape));
}

/** For Fastify's `frameworkErrors` option: bad URL encoding and over-long path parameters, before routing. */
export function frameworkErrorHandler(bodyLimit: number) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    void sendError(request, reply, toAppError(error, bodyLimit));
  };
}

/** For Fastify's `clientErrorHandler` option: what Node's HTTP parser refused (bad HTTP, huge headers, timeouts). */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  // A reset socket has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const appError =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? errors.requestTimeout() : error.code === 'HPE_HEADER_OVERFLOW' ? errors.headersTooLarge() : errors.badHttpRequest();
  writeErrorToSocket(socket, appError);
  socket.destroy();
}

/** Fastify's own codes, each mapped to a catalogue entry. */
const fastifyCodes: Record<string, (error: FastifyError, bodyLimit: number) => AppError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: (_error, bodyLimit) => errors.bodyTooLarge(bodyLimit),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => errors.unsupportedMediaType(),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => errors.invalidRequest('Request body is empty; send a JSON object.'),
  FST_ERR_CTP_INVALID_JSON_BODY: () => errors.invalidJson(),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => errors.invalidRequest('Content-Length does not match the body.'),
  FST_ERR_BAD_URL: () => errors.invalidUrl(),
  FST_ERR_INVALID_URL: () => errors.invalidUrl(),
  FST_ERR_MAX_PARAM_LENGTH: () => errors.urlTooLong(),
  FST_ERR_VALIDATION: (error) => validationError(error),
};

export function toAppError(error: FastifyError | AppError, bodyLimit: number): AppError {
  if (isAppError(error)) return error;
  if (error.validation !== undefined) return validationError(error);
  const mapped = error.code === undefined ? undefined : fastifyCodes[error.code];
  if (mapped !== undefined) return mapped(error, bodyLimit);
  // Any other 4xx a plugin raises: the caller's mistake, in our words (its own code stays in the log).
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return errors.invalidRequest('The request is invalid.');
  }
  return errors.internal(error);
}

function validationError(error: FastifyError): AppError {
  const context = error.validationContext ?? 'body';
  const first = mostTelling(error.validation ?? []);
  if (first === undefined) return errors.invalidRequest(error.message);
  if (first.keyword === 'type' && Array.isArray(first.params['type'])) {
    const param = first.instancePath.replace(/^\//, '').replaceAll('/', '.') || null;
    return errors.invalidRequest(`${param ?? context} must be ${first.params['type'].join(' or ')}.`, param);
  }
  const params = first.params as Record<string, unknown>;
  const path = first.instancePath.replace(/^\//, '').replaceAll('/', '.');
  if (first.keyword === 'additionalProperties') {
    const field = String(params['additionalProperty']);
    const param = path === '' ? field : `${path}.${field}`;
    return errors.invalidRequest(`Unknown field "${param}" in ${context}.`, param);
  }
  if (first.keyword === 'required') {
    const field = String(params['missingProperty']);
    const param = path === '' ? field : `${path}.${field}`;
    return errors.invalidRequest(`Missing required field "${param}" in ${context}.`, param);
  }
  const param = path === '' ? null : path;
  const allowed = Array.isArray(params['allowedValues']) ? ` (one of: ${params['allowedValues'].join(', ')})` : '';
  return errors.invalidRequest(`${param ?? context} ${first.message ?? 'is invalid'}${allowed}.`, param);
}

type ValidationIssue = NonNullable<FastifyError['validation']>[number];

/**
 * The error that says what is wrong. For a value that may take several shapes
 * (`input`: a string or a list), the validator reports every shape's failure
 * in order, and the first ("must be string") misleads a caller who sent an
 * empty list: prefer the failure of the shape whose type matched (deeper or
 * not about the type); when none matched, name every type allowed.
 */
function mostTelling(issues: readonly ValidationIssue[]): (ValidationIssue & { params: Record<string, unknown> }) | undefined {
  const union = issues.find((issue) => issue.keyword === 'anyOf');
  const first = issues[0] as (ValidationIssue & { params: Record<string, unknown> }) | undefined;
  if (union === undefined) return first;
  const inside = issues.filter((issue) => issue !== union && issue.instancePath.startsWith(union.instancePath));
  const specific = inside.find((issue) => issue.keyword !== 'type' || issue.instancePath !== union.instancePath);
  if (specific !== undefined) return specific as ValidationIssue & { params: Record<string, unknown> };
  const types = inside.map((issue) => (issue.params as { type?: unknown }).type).filter((type): type is string => typeof type === 'string');
  return types.length < 2 ? first : { ...union, keyword: 'type', params: { type: [...new Set(types)] } };
}
