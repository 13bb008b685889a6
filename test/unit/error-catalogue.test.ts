import { readFileSync } from 'node:fs';
import type { FastifyError } from 'fastify';
import { errorCodes as fastifyErrorCodes } from 'fastify';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors/app-error.ts';
import { errorCodes, type CatalogueEntry, type ErrorCode } from '../../src/errors/error-codes.ts';
import { errors } from '../../src/errors/error-catalogue.ts';
import { errorBody, errorHeaders, errorShapeFor, streamErrorEvent } from '../../src/errors/error-reply.ts';
import { toAppError } from '../../src/http/plugins/error-handler.ts';
import { UpstreamError } from '../../src/data/upstream/upstream-error.ts';

const entries = Object.entries(errorCodes) as Array<[ErrorCode, CatalogueEntry]>;
// OpenAI's own codes, kept because OpenAI clients already match on them.
const openAICodes = new Set(['model_not_found', 'rate_limit_exceeded', 'insufficient_quota']);
const types = new Set(['invalid_request_error', 'authentication_error', 'permission_error', 'not_found_error', 'conflict_error', 'rate_limit_error', 'insufficient_quota', 'upstream_error', 'server_error']);

describe('the error catalogue', () => {
  it('gives every code a well-formed, unique name, an error status, a known type and a safe message', () => {
    expect(entries.length).toBeGreaterThan(20);
    const seen = new Set<string>();
    for (const [code, entry] of entries) {
      expect(seen.has(code.toLowerCase()), code).toBe(false);
      seen.add(code.toLowerCase());
      expect(openAICodes.has(code) || /^SY_[A-Z][A-Z0-9_]*[A-Z0-9]$/.test(code), `${code} is not SY_UPPER_SNAKE`).toBe(true);
      expect(entry.status, code).toBeGreaterThanOrEqual(400);
      expect(entry.status, code).toBeLessThan(600);
      expect(types.has(entry.type), `${code} has type ${entry.type}`).toBe(true);
      expect(typeof entry.retryable, code).toBe('boolean');
      expect(entry.message, code).toMatch(/^[A-Z].{8,}[.?]$/);
      // A safe message names no internal detail: no Fastify or undici code, no stack, no URL.
      expect(entry.message, code).not.toMatch(/FST_|UND_ERR|https?:|\n/);
    }
  });

  it('keeps the OpenAI contract where clients rely on it', () => {
    expect(errorCodes.model_not_found).toMatchObject({ status: 404, type: 'not_found_error' });
    expect(errorCodes.rate_limit_exceeded).toMatchObject({ status: 429, type: 'rate_limit_error', retryable: true });
    expect(errorCodes.insufficient_quota).toMatchObject({ status: 429, type: 'insufficient_quota', retryable: false });
  });

  it('is documented code for code in docs/errors.md', () => {
    const documented = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const rows = new Map([...documented.matchAll(/^\| `([A-Za-z_0-9]+)` \| (\d{3}) \| `([a-z_]+)` \| (yes|no) \|/gm)].map((match) => [match[1], match]));
    for (const [code, entry] of entries) {
      const row = rows.get(code);
      expect(row, `${code} is missing from docs/errors.md`).toBeDefined();
      expect([Number(row?.[2]), row?.[3], row?.[4] === 'yes'], code).toEqual([entry.status, entry.type, entry.retryable]);
    }
    expect([...rows.keys()].filter((code) => code === undefined || !(code in errorCodes))).toEqual([]);
  });

  it('builds errors whose status, type and retryable come from their entry', () => {
    const refused = errors.upstreamRefused(422, 'context length exceeded');
    expect([refused.code, refused.status, refused.type, refused.message]).toEqual(['SY_UPSTREAM_INVALID_REQUEST', 422, 'invalid_request_error', 'context length exceeded']);
    // Only pass-through entries take a status from outside.
    expect(new AppError('SY_CONFLICT', { status: 418 }).status).toBe(409);
    const limited = errors.rateLimited('requests per minute (limit 3)', 20_000);
    expect([limited.code, limited.status, limited.retryable, limited.retryAfterMs]).toEqual(['rate_limit_exceeded', 429, true, 20_000]);
  });

  it('gives each kind of upstream failure its own code', () => {
    const code = (failure: ConstructorParameters<typeof UpstreamError>[1]) => {
      const error = new UpstreamError('x', failure);
      return `${error.code} ${error.status}`;
    };
    expect(code({ failure: 'connect' })).toBe('SY_UPSTREAM_UNREACHABLE 502');
    expect(code({ failure: 'timeout' })).toBe('SY_UPSTREAM_TIMEOUT 504');
    expect(code({ failure: 'protocol' })).toBe('SY_UPSTREAM_PROTOCOL 502');
    expect(code({ failure: 'auth', upstreamStatus: 401 })).toBe('SY_UPSTREAM_AUTH 502');
    expect(code({ failure: 'status', upstreamStatus: 500 })).toBe('SY_UPSTREAM_STATUS 502');
    expect(code({ failure: 'status', upstreamStatus: 429 })).toBe('SY_UPSTREAM_BUSY 429');
    expect(code({ failure: 'status', upstreamStatus: 503 })).toBe('SY_UPSTREAM_UNAVAILABLE 503');
    expect(code({ failure: 'aborted' })).toBe('SY_CLIENT_DISCONNECTED 499');
  });
});

describe("Fastify's errors", () => {
  const fastifyErrors = Object.entries(fastifyErrorCodes).map(([name, Constructor]) => {
    const error = new (Constructor as new (...args: string[]) => FastifyError)('a', 'b', 'c');
    return { name, error };
  });

  it('map every client error Fastify can raise to a catalogue code with the same class of status', () => {
    const clientErrors = fastifyErrors.filter(({ error }) => (error.statusCode ?? 500) < 500);
    expect(clientErrors.map(({ name }) => name)).toEqual(expect.arrayContaining(['FST_ERR_CTP_BODY_TOO_LARGE', 'FST_ERR_CTP_INVALID_MEDIA_TYPE', 'FST_ERR_BAD_URL', 'FST_ERR_NOT_FOUND']));
    for (const { name, error } of clientErrors) {
      const mapped = toAppError(error, 1_024);
      expect(mapped.code in errorCodes, name).toBe(true);
      expect(Math.floor(mapped.status / 100), name).toBe(4);
      expect(JSON.stringify(errorBody(mapped, 'admin')), name).not.toMatch(/FST_/);
    }
  });

  it('keeps the statuses that say what went wrong', () => {
    const status = (name: string) => {
      const found = fastifyErrors.find((candidate) => candidate.name === name);
      return found === undefined ? undefined : `${toAppError(found.error, 1_024).code} ${toAppError(found.error, 1_024).status}`;
    };
    expect(status('FST_ERR_CTP_BODY_TOO_LARGE')).toBe('SY_BODY_TOO_LARGE 413');
    expect(status('FST_ERR_CTP_INVALID_MEDIA_TYPE')).toBe('SY_UNSUPPORTED_MEDIA_TYPE 415');
    expect(status('FST_ERR_CTP_INVALID_JSON_BODY')).toBe('SY_INVALID_JSON 400');
    expect(status('FST_ERR_BAD_URL')).toBe('SY_INVALID_URL 400');
    expect(status('FST_ERR_MAX_PARAM_LENGTH')).toBe('SY_URL_TOO_LONG 414');
  });

  it('answers anything else, Fastify 5xx included, as SY_INTERNAL without its message', () => {
    for (const { name, error } of fastifyErrors.filter(({ error }) => (error.statusCode ?? 500) >= 500)) {
      const mapped = toAppError(error, 1_024);
      expect([mapped.code, mapped.message], name).toEqual(['SY_INTERNAL', 'Internal error.']);
    }
    expect(toAppError(new Error('ECONNREFUSED 10.0.0.7:5432') as FastifyError, 1_024).message).toBe('Internal error.');
  });
});

describe('the error serialiser', () => {
  const error = errors.unknownModel('gpt-5', ['gpt-4o']);

  it('writes OpenAI’s shape on /v1 and the admin shape elsewhere', () => {
    expect(errorShapeFor('/v1/chat/completions')).toBe('openai');
    expect(errorShapeFor('/api/v1/keys?limit=1')).toBe('admin');
    expect(errorShapeFor('/v1')).toBe('admin');
    expect(Object.keys(JSON.parse(errorBody(error, 'openai')).error)).toEqual(['message', 'type', 'param', 'code']);
    expect(Object.keys(JSON.parse(errorBody(error, 'admin')).error)).toEqual(['message', 'type', 'code', 'param']);
    expect(JSON.parse(errorBody(error, 'openai'))).toEqual({
      error: { message: expect.stringContaining('Did you mean: gpt-4o?'), type: 'not_found_error', param: 'model', code: 'model_not_found' },
    });
  });

  it('ends a stream with one data event carrying the same body', () => {
    const event = streamErrorEvent(errors.streamBroken('connection reset'), 'openai');
    expect(event).toMatch(/^data: \{.*\}\n\n$/);
    expect(JSON.parse(event.slice('data: '.length)).error).toMatchObject({ code: 'SY_UPSTREAM_STREAM_BROKEN', type: 'upstream_error' });
  });

  it('sends the request id, Retry-After on a retryable 429 or 503, and x-should-retry from the catalogue', () => {
    expect(errorHeaders(errors.rateLimited('requests per minute (limit 3)', 12_400), 'req-1')).toMatchObject({ 'x-request-id': 'req-1', 'retry-after': '13', 'x-should-retry': 'true' });
    expect(errorHeaders(errors.noHealthyDeployment('m'), 'req-2')).toMatchObject({ 'retry-after': '1', 'x-should-retry': 'true' });
    // An exhausted budget is not worth retrying: no Retry-After, and the OpenAI SDKs are told not to.
    const budget = errorHeaders(errors.budgetExhausted(100, 120), 'req-3');
    expect(budget['retry-after']).toBeUndefined();
    expect(budget['x-should-retry']).toBe('false');
    expect(errorHeaders(errors.invalidJson(), 'req-4')['retry-after']).toBeUndefined();
  });
});
