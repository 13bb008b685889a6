import { UpstreamError } from './upstream-error.ts';

// undici and Node give stable codes; we map those, never message text.
const connectCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);
// Failures before a connection existed: the server never saw a byte of the request.
const neverSentCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'SY_DENIED_ADDRESS']);
const timeoutCodes = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** Turns whatever undici threw into an UpstreamError with a message that names no secret. */
export function toUpstreamError(error: unknown, what: string, isCallerAbort: boolean): UpstreamError {
  if (error instanceof UpstreamError) return error;
  const code = errorCode(error);
  const name = error instanceof Error ? error.name : '';
  if (isCallerAbort) return new UpstreamError(`${what}: cancelled`, { failure: 'aborted', cause: error });
  const neverSent = code !== undefined && neverSentCodes.has(code);
  if (code === 'SY_DENIED_ADDRESS') return new UpstreamError(`${what}: ${(error as Error).message.replace(/\.$/, '')}`, { failure: 'connect', cause: error, neverSent });
  if (name === 'TimeoutError' || (code !== undefined && timeoutCodes.has(code))) {
    return new UpstreamError(`${what}: timed out`, { failure: 'timeout', cause: error, neverSent });
  }
  if (code !== undefined && connectCodes.has(code)) {
    return new UpstreamError(`${what}: ${describeConnectCode(code)}`, { failure: 'connect', cause: error, neverSent });
  }
  if (name === 'AbortError') return new UpstreamError(`${what}: timed out`, { failure: 'timeout', cause: error });
  return new UpstreamError(`${what}: request failed${code === undefined ? '' : ` (${code})`}`, { failure: 'connect', cause: error });
}

function errorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current !== null && typeof current === 'object' && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function describeConnectCode(code: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    default:
      return `connection failed (${code})`;
  }
}
