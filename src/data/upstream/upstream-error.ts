import { AppError, type ErrorCode } from '../../errors/app-error.ts';

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
  /** True when the request provably never reached the server (refused, no route, no name): retrying it adds no load there. */
  readonly neverSent: boolean;

  constructor(message: string, options: { failure: UpstreamFailure; upstreamStatus?: number | null; retryAfterMs?: number | null; cause?: unknown; neverSent?: boolean }) {
    super(codeFor(options.failure, options.upstreamStatus ?? null), { message, cause: options.cause, retryAfterMs: options.retryAfterMs ?? null });
    this.name = 'UpstreamError';
    this.failure = options.failure;
    this.upstreamStatus = options.upstreamStatus ?? null;
    this.neverSent = options.neverSent ?? false;
  }

  /** True when the failure says the server itself is unwell (counts toward offline). */
  get isServerFault(): boolean {
    if (this.failure === 'connect' || this.failure === 'timeout' || this.failure === 'protocol') return true;
    return this.failure === 'status' && this.upstreamStatus !== null && (this.upstreamStatus >= 500 || this.upstreamStatus === 429);
  }
}

/** The catalogue code a client hears for each kind of failure. */
function codeFor(failure: UpstreamFailure, upstreamStatus: number | null): ErrorCode {
  switch (failure) {
    case 'connect':
      return 'SY_UPSTREAM_UNREACHABLE';
    case 'timeout':
      return 'SY_UPSTREAM_TIMEOUT';
    case 'status':
      // A busy server (429) and one that says it is unavailable (503) pass that on, with its Retry-After.
      return upstreamStatus === 429 ? 'SY_UPSTREAM_BUSY' : upstreamStatus === 503 ? 'SY_UPSTREAM_UNAVAILABLE' : 'SY_UPSTREAM_STATUS';
    case 'auth':
      return 'SY_UPSTREAM_AUTH';
    case 'protocol':
      return 'SY_UPSTREAM_PROTOCOL';
    case 'aborted':
      return 'SY_CLIENT_DISCONNECTED';
  }
}
