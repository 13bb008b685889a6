import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';
import type { Deployment } from '../routing/deployment.ts';
import { toUpstreamError } from '../upstream/transport-error.ts';
import { UpstreamError } from '../upstream/upstream-error.ts';
import { countEvents, usageIn } from './answer-bytes.ts';
import { routeHeaderList, writeStreamError, type RouteHeaders } from './client-reply.ts';
import type { RequestOutcome } from './request-outcome.ts';
import { SseBoundary } from './sse-boundary.ts';

export interface StreamRelay {
  deployment: Deployment;
  body: AsyncIterable<Buffer>;
  response: ServerResponse;
  route: RouteHeaders;
  /** Aborting it ends the upstream call (client gone, deadline, maximum duration). */
  attempt: AbortController;
  client: AbortController;
  usage: RequestOutcome;
  /** Prompt tokens when the server reports none (computed only then). */
  estimatePromptTokens: () => number;
  maxDurationMs: number;
  log: FastifyBaseLogger;
}

/**
 * Passes an SSE answer through as it arrives (whole events, no re-serialising),
 * noting time to first token and tokens: the server's own usage chunk when it
 * sends one, else one token per content event. A break after the first byte
 * ends the client's stream with an error event, never a fake [DONE].
 */
export async function relayStream(relay: StreamRelay): Promise<void> {
  const { deployment, body, response, attempt, client, usage } = relay;
  response.writeHead(200, {
    ...routeHeaderList(relay.route),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
  });
  response.flushHeaders();
  const maxDuration = setTimeout(() => attempt.abort(new DOMException('stream too long', 'TimeoutError')), relay.maxDurationMs);
  const boundary = new SseBoundary();
  const firstByteAt = performance.now();
  let events = 0;
  let reported: { promptTokens: number; completionTokens: number } | null = null;
  const settle = () => {
    usage.promptTokens = reported?.promptTokens || relay.estimatePromptTokens();
    usage.completionTokens = reported?.completionTokens || Math.max(0, events - 1);
  };
  try {
    for await (const chunk of body) {
      const ready = boundary.push(chunk);
      if (ready.length === 0) continue;
      if (events === 0) usage.ttftMs = performance.now() - usage.startedPerf;
      events += countEvents(ready);
      // The usage chunk (stream_options.include_usage) comes last: look only where it can be.
      if (ready.includes('"completion_tokens"')) reported = usageIn(ready);
      if (!response.write(ready)) await once(response, 'drain', { signal: attempt.signal });
    }
    response.end(boundary.flush() ?? undefined);
    settle();
    deployment.state.recordThroughput(usage.completionTokens, performance.now() - firstByteAt);
  } catch (error) {
    settle();
    if (client.signal.aborted) {
      usage.errorType = 'client_disconnected';
      return;
    }
    usage.errorType = 'SY_UPSTREAM_STREAM_BROKEN';
    const failure = toUpstreamError(error, 'stream', false);
    deployment.state.breaker.onFailure(Date.now());
    relay.log.warn({ server: deployment.server.name, model: deployment.model.modelId, code: failure.code }, 'upstream stream broke after the first byte');
    writeStreamError(response, new UpstreamError(`The model server's stream broke off: ${failure.message.replace(/^stream: /, '')}.`, { failure: failure.failure }));
  } finally {
    clearTimeout(maxDuration);
  }
}
