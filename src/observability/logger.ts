import { pino, type Logger } from 'pino';

/**
 * JSON logs via pino. Credentials are redacted wherever they might appear;
 * prompts and completions are never logged at all.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
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
