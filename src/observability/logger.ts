import type { IncomingMessage } from 'node:http';
import { pino, type Logger } from 'pino';
import { prettyLogStream } from './pretty-log-stream.ts';
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

export interface LogSettings {
  level: string;
  /** auto: readable lines on a terminal, JSON otherwise. */
  format: 'auto' | 'json' | 'pretty';
}

/**
 * Logs via pino: JSON, or readable lines for a person at a terminal.
 * Credentials are redacted wherever they might appear; prompts and
 * completions are never logged at all.
 */
export function createLogger(settings: LogSettings, destination?: NodeJS.WritableStream): Logger {
  const isTerminal = destination === undefined && process.stdout.isTTY === true;
  const target = destination ?? process.stdout;
  const isPretty = settings.format === 'pretty' || (settings.format === 'auto' && isTerminal);
  return pino(
    {
      level: settings.level,
      // Any field named url, base_url or path goes through the same redaction (webhook and server addresses may carry tokens).
      serializers: { req: serializeRequest, url: redactUrlField, base_url: redactUrlField, path: redactUrlField },
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
    isPretty ? prettyLogStream(target, { colours: isTerminal }) : target,
  );
}
