import { Metadata, status as GrpcCode, type ServiceError } from '@grpc/grpc-js';
import { RestError } from '../http/internal/internal-rest.ts';
import { errorCodes, type ErrorCode } from '../errors/error-codes.ts';
import { encodeStatusDetails } from './status-details.ts';

/** Why a call was hung up: set as the AbortSignal's reason. */
export class CallEnded extends Error {
  readonly why: 'deadline' | 'cancelled' | 'shutdown';

  constructor(why: 'deadline' | 'cancelled' | 'shutdown') {
    super(why === 'deadline' ? 'Deadline exceeded.' : why === 'cancelled' ? 'The call was cancelled.' : 'Switchyard is shutting down; send the call again.');
    this.name = 'CallEnded';
    this.why = why;
  }
}

/** A failure the gRPC layer itself finds (a request REST cannot be asked), in the catalogue's terms. */
export class FrontDoorError extends Error {
  readonly code: ErrorCode;

  constructor(message: string, code: ErrorCode = 'SY_INVALID_REQUEST') {
    super(message);
    this.name = 'FrontDoorError';
    this.code = code;
  }
}

/** The gRPC status for a REST status (what `grpc-status` says REST would have answered). */
export function grpcCodeOf(httpStatus: number): GrpcCode {
  switch (httpStatus) {
    case 400:
    case 413:
    case 414:
    case 415:
    case 422:
    case 431:
      return GrpcCode.INVALID_ARGUMENT;
    case 401:
      return GrpcCode.UNAUTHENTICATED;
    case 403:
      return GrpcCode.PERMISSION_DENIED;
    case 404:
      return GrpcCode.NOT_FOUND;
    case 408:
    case 504:
      return GrpcCode.DEADLINE_EXCEEDED;
    case 409:
      return GrpcCode.FAILED_PRECONDITION;
    case 429:
      return GrpcCode.RESOURCE_EXHAUSTED;
    case 499:
      return GrpcCode.CANCELLED;
    case 501:
      return GrpcCode.UNIMPLEMENTED;
    case 502:
    case 503:
      return GrpcCode.UNAVAILABLE;
    default:
      return httpStatus >= 400 && httpStatus < 500 ? GrpcCode.FAILED_PRECONDITION : GrpcCode.INTERNAL;
  }
}

/**
 * Any failure as the status a gRPC client gets: the code mapped from REST's
 * status, the message REST gave (the catalogue's, safe to show: never a
 * secret, never an upstream body), and in the trailers the catalogue code
 * (`sy-error-code`), `retry-after` (seconds) when waiting helps, and
 * `grpc-status-details-bin` (google.rpc.Status with ErrorInfo and RetryInfo)
 * for clients that read rich errors.
 */
export function toGrpcError(error: unknown): Partial<ServiceError> {
  if (error instanceof CallEnded) {
    const code = error.why === 'deadline' ? GrpcCode.DEADLINE_EXCEEDED : error.why === 'cancelled' ? GrpcCode.CANCELLED : GrpcCode.UNAVAILABLE;
    // The caller's own deadline or cancel is no catalogue error; a shutdown is.
    return failure(code, error.message, error.why === 'shutdown' ? 'SY_SHUTTING_DOWN' : null, null);
  }
  if (error instanceof RestError) return failure(grpcCodeOf(error.status), error.message, error.code, error.retryAfterS);
  if (error instanceof FrontDoorError) return failure(grpcCodeOf(errorCodes[error.code].status), error.message, error.code, null);
  // Anything else is ours to fix; its detail is for the log.
  return failure(GrpcCode.INTERNAL, errorCodes.SY_INTERNAL.message, 'SY_INTERNAL', null);
}

function failure(code: GrpcCode, message: string, errorCode: string | null, retryAfterS: number | null): Partial<ServiceError> {
  const metadata = new Metadata();
  if (errorCode !== null) metadata.set('sy-error-code', errorCode);
  if (retryAfterS !== null) metadata.set('retry-after', String(retryAfterS));
  metadata.set('grpc-status-details-bin', encodeStatusDetails({ code, message, reason: errorCode, retryAfterS }));
  return { code, details: message, metadata };
}

/** A REST answer, a caller's mistake or a hang-up: not a fault of ours worth a log line. */
export function isExpected(error: unknown): boolean {
  return error instanceof RestError || error instanceof FrontDoorError || error instanceof CallEnded;
}

/** The HTTP status the catalogue gives a code (an error event inside a stream names its code only). */
export function statusOfCode(code: unknown): number {
  return typeof code === 'string' && Object.hasOwn(errorCodes, code) ? errorCodes[code as ErrorCode].status : 502;
}
