import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FastifyBaseLogger } from 'fastify';
import type { StreamTranslator } from '../adapters/inference-mapping.ts';
import { errors } from '../../errors/error-catalogue.ts';
import type { Deployment } from '../routing/deployment.ts';
import { toUpstreamError } from '../upstream/transport-error.ts';
import type { UpstreamError } from '../upstream/upstream-error.ts';
import type { ErrorShape } from '../../errors/error-reply.ts';
import { eventStreamHeaders, type RouteHeaders } from './client-reply.ts';
import type { RequestOutcome } from './request-outcome.ts';
import type { EventTally } from './sse-events.ts';
import { sseFraming, type StreamFraming } from './stream-framing.ts';
import { translateEnd, translateEvents } from './translated-events.ts';
import { AnswerAssembler } from '../response-cache/answer-assembler.ts';

export interface StreamRelay {
  deployment: Deployment;
  body: AsyncIterable<Buffer>;
  response: ServerResponse;
  route: RouteHeaders;
  /** Aborting it ends the upstream call (client gone, deadline, maximum duration). */
  attempt: AbortController;
  client: AbortController;
  usage: RequestOutcome;
  /** The kind's per-event hook; absent for OpenAI SSE, which passes through uncopied. */
  translator?: StreamTranslator;
  /** Prompt tokens when the server reports none (computed only then). */
  estimatePromptTokens: () => number;
  maxDurationMs: number;
  /** Largest single event (see SseBoundary). */
  maxEventBytes: number;
  /** Called once, when the first bytes go to the caller: from then on the stream can no longer be retried. */
  onStarted: () => void;
  log: FastifyBaseLogger;
  /** The shape of the final error event, should the stream break. */
  errorShape: ErrorShape;
  /** Told the reassembled answer when the stream ended with [DONE] (the response cache); absent, nothing is reassembled. */
  onAnswer?: (answer: Record<string, unknown>) => void;
  /** How the stream is framed (default SSE; newline-delimited JSON for a native Ollama stream passed through). */
  framing?: StreamFraming;
  /** Reads tokens from a native stream's events (Anthropic's, the Responses API's) instead of the framing's OpenAI reader. */
  usageReader?: (events: Buffer) => { promptTokens: number; completionTokens: number } | null;
}

/**
 * Passes an SSE answer through as it arrives (whole events, no re-serialising),
 * noting time to first token and tokens: the server's own usage chunk when it
 * sends one, else one token per content event.
 *
 * Nothing reaches the caller until the first whole event has passed the
 * checks, so a server that breaks, stalls, or sends what is not SSE JSON
 * before that is an ordinary failed attempt (returned, for a retry
 * elsewhere). After that a break or a bad event ends the caller's stream with
 * one error event, never a fake [DONE]. No malformed event is tolerated: the
 * OpenAI SDKs raise on the first event they cannot parse, so relaying one
 * would break the caller's stream anyway, only less clearly and uncounted.
 */
export async function relayStream(relay: StreamRelay): Promise<UpstreamError | null> {
  const { deployment, body, response, attempt, client, usage, translator } = relay;
  const maxDuration = setTimeout(() => attempt.abort(new DOMException('stream too long', 'TimeoutError')), relay.maxDurationMs);
  const framing = relay.framing ?? sseFraming;
  const boundary = framing.boundary(relay.maxEventBytes);
  const tally: EventTally = { events: 0 };
  let isStarted = false;
  let firstByteAt = 0;
  let reported: { promptTokens: number; completionTokens: number } | null = null;
  // Only when someone keeps the answer: a relay without a cache policy copies nothing.
  const assembler = relay.onAnswer === undefined ? null : new AnswerAssembler();
  const settle = () => {
    const counted = translator?.usage() ?? reported;
    usage.promptTokens = counted?.promptTokens || relay.estimatePromptTokens();
    usage.completionTokens = counted?.completionTokens || Math.max(0, tally.events - 1);
  };
  /** Checks and writes whole events; false when the caller's socket wants a drain first. */
  const passOn = (ready: Buffer): boolean => {
    const badAt = framing.scan(ready, tally);
    if (badAt !== -1 && !isStarted) throw errors.upstreamMalformedEvent();
    const good = badAt === -1 ? ready : ready.subarray(0, badAt);
    let isWritable = true;
    if (good.length > 0) {
      if (!isStarted) {
        isStarted = true;
        firstByteAt = start(relay, framing.contentType);
      }
      reported = (relay.usageReader ?? framing.usage)(good) ?? reported;
      isWritable = response.write(good);
      assembler?.push(good);
    }
    if (badAt !== -1) throw errors.upstreamMalformedEvent();
    return isWritable;
  };
  try {
    for await (const chunk of body) {
      const ready = boundary.push(chunk);
      // A kind's hook turns its events into OpenAI ones (a malformed one throws, as a bad event does here).
      const out = translator === undefined || ready.length === 0 ? ready : translateEvents(ready, translator);
      if (out.length > 0 && !passOn(out)) await once(response, 'drain', { signal: attempt.signal });
    }
    const rest = boundary.flush();
    const last = translator === undefined ? rest : translateEnd(rest, translator);
    if (last !== null && last.length > 0) passOn(last);
    if (!isStarted) throw errors.upstreamEmptyStream();
    response.end();
    settle();
    const answer = assembler?.answer() ?? null;
    if (answer !== null && !client.signal.aborted) relay.onAnswer?.(answer);
    deployment.state.recordThroughput(usage.completionTokens, performance.now() - firstByteAt);
    return null;
  } catch (error) {
    settle();
    if (client.signal.aborted) {
      usage.errorType = 'SY_CLIENT_DISCONNECTED';
      return null;
    }
    const failure = toUpstreamError(error, 'stream', false);
    // Nothing reached the caller yet: an ordinary failed attempt, which the proxy may retry elsewhere.
    if (!isStarted) return failure;
    deployment.state.breaker.onFailure(Date.now());
    relay.log.warn({ server: deployment.server.name, model: deployment.model.modelId, code: failure.code }, 'upstream stream failed after the first byte');
    // What the server sent wrong keeps its own code; a transport failure is a broken stream. The
    // record carries the code of the event the client receives.
    const final = failure.failure === 'protocol' ? failure : errors.streamBroken(failure.message.replace(/^stream: /, ''), failure);
    usage.errorType = final.code;
    if (!response.destroyed && !response.writableEnded) response.end(framing.errorEvent(final, relay.errorShape));
    return null;
  } finally {
    clearTimeout(maxDuration);
  }
}

/** Sends the caller the 200 and headers; from here the answer is committed to this server. Returns when. */
function start(relay: StreamRelay, contentType: string): number {
  relay.response.writeHead(200, contentType === sseFraming.contentType ? eventStreamHeaders(relay.route) : { ...eventStreamHeaders(relay.route), 'content-type': contentType });
  relay.usage.status = 200;
  relay.usage.ttftMs = performance.now() - relay.usage.startedPerf;
  relay.deployment.state.breaker.onSuccess();
  relay.onStarted();
  return performance.now();
}
