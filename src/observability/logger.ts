import type { IncomingMessage } from 'node:http';
import { pino, type Logger } from 'pino';
import { redactUrl } from './redact-url.ts';

/** Fastify's request serializer, with the query string's values redacted. */
function serializeRequest(request: IncomingMessage & { ip?: string; host?: string }) {
  return {
    method: request.method,
    url: typeof request.url === 'string' ? redactUrl(request.url) : request.url,
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

const redactUrlField = (value: unknown) => (typeof value === 'string' ? redactUrl(value) : value);

/**
 * JSON logs via pino. Credentials are redacted wherever they might appear;
 * prompts and completions are never logged at all.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      // Any field named url or base_url goes through the same redaction (webhook and server addresses may carry tokens).
      serializers: { req: serializeRequest, url: redactUrlField, base_url: redactUrlField },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-api-key"]',
          'req.headers["api-key"]',
          'req.headers.cookie',
          '*.api_key',
          '*.apiKey',
        ],
        censor: '[redacted]',
      },
    },
    destination ?? process.stdout,
  );
}
