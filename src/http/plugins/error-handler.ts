import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isAppError } from '../../errors/app-error.ts';
import { errors } from '../../errors/error-catalogue.ts';

/**
 * The admin API's error shape: `{error: {message, type, code, param}}`.
 * A 5xx never carries upstream detail or a secret; the log gets the cause.
 */
export function registerErrorHandler(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((error: FastifyError | AppError, request: FastifyRequest, reply: FastifyReply) => {
    const appError = toAppError(error, bodyLimit);
    if (appError.status >= 500) {
      request.log.error({ err: error, code: appError.code }, 'request failed');
    } else {
      request.log.info({ code: appError.code, status: appError.status }, appError.message);
    }
    return reply.status(appError.status).send(errorBody(appError));
  });

  app.setNotFoundHandler((request, reply) => {
    const appError = errors.routeNotFound(request.method, request.url.split('?')[0] ?? '/');
    return reply.status(404).send(errorBody(appError));
  });
}

export function errorBody(error: AppError): { error: { message: string; type: string; code: string; param: string | null } } {
  return { error: { message: error.message, type: error.type, code: error.code, param: error.param } };
}

function toAppError(error: FastifyError | AppError, bodyLimit: number): AppError {
  if (isAppError(error)) return error;
  const fastifyError = error as FastifyError;
  if (fastifyError.validation !== undefined) return validationError(fastifyError);
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.bodyTooLarge(bodyLimit);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType();
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.invalidRequest('Request body is empty; send a JSON object.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return errors.invalidJson();
    default:
      break;
  }
  // JSON.parse failures.
  if (error instanceof SyntaxError || fastifyError.statusCode === 400) {
    return errors.invalidJson();
  }
  if (fastifyError.statusCode !== undefined && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return new AppError(fastifyError.message, { code: fastifyError.code ?? 'SY_INVALID_REQUEST', status: fastifyError.statusCode, type: 'invalid_request_error' });
  }
  return errors.internal(error);
}

function validationError(error: FastifyError): AppError {
  const first = error.validation?.[0];
  const context = error.validationContext ?? 'body';
  if (first === undefined) return errors.invalidRequest(error.message);
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
