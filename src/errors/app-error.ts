/**
 * The one base class for errors Switchyard raises on purpose. Each carries a
 * stable code, the HTTP status it maps to, whether retrying can help, and a
 * message that is safe to show to a caller. The cause (which may hold upstream
 * detail) goes to logs only.
 */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'conflict_error'
  | 'rate_limit_error'
  | 'upstream_error'
  | 'server_error';

export interface AppErrorOptions {
  code: string;
  status: number;
  type: ErrorType;
  retryable?: boolean;
  param?: string | null;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly type: ErrorType;
  readonly retryable: boolean;
  readonly param: string | null;

  constructor(message: string, options: AppErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = options.code;
    this.status = options.status;
    this.type = options.type;
    this.retryable = options.retryable ?? false;
    this.param = options.param ?? null;
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}
