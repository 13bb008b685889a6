import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ExportResultCode } from '@opentelemetry/core';
import { FailureMemory, type IntegrationStatus } from './integration-status.ts';
import type { RequestOutcome } from '../data/proxy/request-outcome.ts';
import type { AttemptTrace, RequestTrace, RequestTracer } from '../data/proxy/request-tracer.ts';

export interface TracingOptions {
  endpoint: string;
  serviceName: string;
  batchDelayMs: number;
}

const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * OpenTelemetry over OTLP/HTTP: a span per /v1 request (continuing the
 * caller's `traceparent` when given), a child span per upstream attempt, and
 * that child's context sent upstream. Manual instrumentation: no monkey-patching.
 */
export class OpenTelemetryTracer implements RequestTracer {
  readonly #provider: TracerProvider;
  readonly #tracer: Tracer;
  readonly #exports = new FailureMemory();

  constructor(options: TracingOptions) {
    const exporter = new OTLPTraceExporter({ url: `${options.endpoint.replace(/\/+$/, '')}/v1/traces` });
    // Each batch's result is remembered for the integration status (the exporter itself only logs).
    const exportBatch = exporter.export.bind(exporter);
    exporter.export = (spans, done) =>
      exportBatch(spans, (result) => {
        if (result.code === ExportResultCode.SUCCESS) this.#exports.succeed();
        else this.#exports.fail(`export failed: ${result.error?.message ?? 'unknown error'}`);
        done(result);
      });
    this.#provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': options.serviceName }),
      spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: options.batchDelayMs })],
    });
    this.#tracer = this.#provider.getTracer('switchyard');
  }

  /** Whether spans reach the OTLP endpoint. */
  exportStatus(): IntegrationStatus {
    return this.#exports.status();
  }

  start(info: { operation: string; requestId: string; model: string; traceparent: string | null }): RequestTrace {
    const parent = parentContext(info.traceparent);
    const span = this.#tracer.startSpan(
      `switchyard ${info.operation}`,
      { kind: SpanKind.SERVER, attributes: { 'switchyard.request_id': info.requestId, 'gen_ai.request.model': info.model, 'gen_ai.operation.name': info.operation } },
      parent,
    );
    const context = trace.setSpan(parent, span);
    return {
      attempt: (attempt) => this.#attempt(context, attempt),
      end: (outcome) => endRequest(span, outcome),
    };
  }

  #attempt(context: Context, info: { server: string; model: string; number: number }): AttemptTrace {
    const span = this.#tracer.startSpan(
      'upstream attempt',
      { kind: SpanKind.CLIENT, attributes: { 'switchyard.server': info.server, 'gen_ai.response.model': info.model, 'switchyard.attempt': info.number, 'switchyard.retry': info.number > 1 } },
      context,
    );
    const spanContext = span.spanContext();
    return {
      traceparent: `00-${spanContext.traceId}-${spanContext.spanId}-0${spanContext.traceFlags & TraceFlags.SAMPLED}`,
      end: (result) => {
        if (result.status !== null) span.setAttribute('http.response.status_code', result.status);
        if (result.error !== null) {
          span.setAttribute('error.type', result.error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: result.error });
        }
        span.end();
      },
    };
  }

  async shutdown(): Promise<void> {
    await this.#provider.forceFlush().catch(() => undefined);
    await this.#provider.shutdown().catch(() => undefined);
  }
}

function parentContext(traceparent: string | null): Context {
  const match = traceparent === null ? null : traceparentPattern.exec(traceparent);
  if (match === null) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: match[1] as string, spanId: match[2] as string, traceFlags: Number.parseInt(match[3] as string, 16), isRemote: true });
}

function endRequest(span: Span, outcome: RequestOutcome): void {
  span.setAttributes({
    'http.response.status_code': outcome.status,
    'switchyard.attempts': outcome.attempts,
    'switchyard.streamed': outcome.streamed,
    'gen_ai.usage.input_tokens': outcome.promptTokens,
    'gen_ai.usage.output_tokens': outcome.completionTokens,
  });
  if (outcome.servedModel !== null) span.setAttribute('gen_ai.response.model', outcome.servedModel);
  if (outcome.serverName !== null) span.setAttribute('switchyard.server', outcome.serverName);
  if (outcome.route !== null) span.setAttribute('switchyard.route', outcome.route);
  if (outcome.errorType !== null) {
    span.setAttribute('error.type', outcome.errorType);
    span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.errorType });
  }
  span.end();
}
