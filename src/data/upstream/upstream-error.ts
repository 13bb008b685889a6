import { AppError } from '../../errors/app-error.ts';

/**
 * What went wrong talking to a model server, classified for health accounting
 * and retries: `connect` and `timeout` and 5xx mean the server is sick, `auth`
 * means its stored key is wrong (a configuration problem, not a dead server),
 * `protocol` means it answered something we cannot read.
 */
export type UpstreamFailure = 'connect' | 'timeout' | 'status' | 'auth' | 'protocol' | 'aborted';

export class UpstreamError extends AppError {
  readonly failure: UpstreamFailure;
  readonly upstreamStatus: number | null;
  readonly retryAfterMs: number | null;

  constructor(
    message: string,
    options: { failure: UpstreamFailure; upstreamStatus?: number | null; retryAfterMs?: number | null; cause?: unknown; httpStatus?: number },
  ) {
    const status = options.httpStatus ?? (options.failure === 'timeout' ? 504 : options.failure === 'aborted' ? 499 : 502);
    super(message, {
      code: options.httpStatus === 429 ? 'SY_UPSTREAM_BUSY' : codeFor(options.failure),
      status,
      type: options.httpStatus === 429 ? 'rate_limit_error' : 'upstream_error',
      retryable: options.failure === 'connect' || options.failure === 'timeout' || isRetryableStatus(options.upstreamStatus),
      cause: options.cause,
    });
    this.name = 'UpstreamError';
    this.failure = options.failure;
    this.upstreamStatus = options.upstreamStatus ?? null;
    this.retryAfterMs = options.retryAfterMs ?? null;
  }

  /** True when the failure says the server itself is unwell (counts toward offline). */
  get isServerFault(): boolean {
    if (this.failure === 'connect' || this.failure === 'timeout' || this.failure === 'protocol') return true;
    return this.failure === 'status' && this.upstreamStatus !== null && (this.upstreamStatus >= 500 || this.upstreamStatus === 429);
  }
}

function isRetryableStatus(status: number | null | undefined): boolean {
  return status !== null && status !== undefined && (status >= 500 || status === 429);
}

function codeFor(failure: UpstreamFailure): string {
  switch (failure) {
    case 'connect':
      return 'SY_UPSTREAM_UNREACHABLE';
    case 'timeout':
      return 'SY_UPSTREAM_TIMEOUT';
    case 'status':
      return 'SY_UPSTREAM_STATUS';
    case 'auth':
      return 'SY_UPSTREAM_AUTH';
    case 'protocol':
      return 'SY_UPSTREAM_PROTOCOL';
    case 'aborted':
      return 'SY_UPSTREAM_ABORTED';
  }
}
