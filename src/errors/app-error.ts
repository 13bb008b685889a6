import { catalogueEntry, type ErrorCode, type ErrorType } from './error-codes.ts';

export type { ErrorCode, ErrorType } from './error-codes.ts';

export interface AppErrorDetails {
  /** Replaces the catalogue's message; must be as safe to show (never an upstream 5xx body or a secret). */
  message?: string;
  param?: string | null;
  /** Detail for the log only. */
  cause?: unknown;
  /** How long the caller should wait (sent as Retry-After on 429 and 503). */
  retryAfterMs?: number | null;
  /** The model server's own status, for the codes whose catalogue entry passes it through. */
  status?: number;
}

/**
 * The one base class for errors Switchyard raises on purpose. The code names
 * a catalogue entry, which gives the HTTP status, type, whether retrying can
 * help, and a message safe to show. The cause (which may hold upstream detail)
 * goes to logs only.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: ErrorType;
  readonly retryable: boolean;
  readonly param: string | null;
  readonly retryAfterMs: number | null;

  constructor(code: ErrorCode, details: AppErrorDetails = {}) {
    const entry = catalogueEntry(code);
    super(details.message ?? entry.message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = entry.passesUpstreamStatus === true && details.status !== undefined ? details.status : entry.status;
    this.type = entry.type;
    this.retryable = entry.retryable;
    this.param = details.param ?? null;
    this.retryAfterMs = details.retryAfterMs ?? null;
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}
