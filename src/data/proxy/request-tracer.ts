import type { RequestOutcome } from './request-outcome.ts';

/** One upstream attempt's span; its id goes upstream in `traceparent`. */
export interface AttemptTrace {
  traceparent: string;
  end(result: { status: number | null; error: string | null }): void;
}

/** A request's span, with a child per attempt. */
export interface RequestTrace {
  attempt(info: { server: string; model: string; number: number }): AttemptTrace;
  end(outcome: RequestOutcome): void;
}

/** Implemented by observability/ (OpenTelemetry); absent when tracing is off, costing nothing. */
export interface RequestTracer {
  start(info: { operation: string; requestId: string; model: string; traceparent: string | null }): RequestTrace;
}
