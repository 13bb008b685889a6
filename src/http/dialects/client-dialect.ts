/**
 * A client API that is not OpenAI's (Ollama's, Anthropic's Messages, OpenAI
 * Responses) in front of the one engine. Its route turns the caller's request
 * into an OpenAI body; the dialect turns what the proxy answers in OpenAI's
 * shape back into the caller's, a whole answer at once or a stream event by
 * event as each arrives (see DialectResponse). Error answers are written in
 * the dialect's error shape by the proxy itself (error-reply.ts).
 */
export interface ClientDialect {
  /** A whole OpenAI answer (`chat.completion`, `text_completion`, an embeddings list) as the caller's answer. */
  answer(openAI: Record<string, unknown>, meta: AnswerMeta): unknown;
  /** A translator for one streamed answer. */
  stream(meta: AnswerMeta): DialectStream;
}

/** Who answered, as the proxy's headers say (null when nobody did: a cache hit, or a pipeline that did not say). */
export interface AnswerMeta {
  server: string | null;
}

export const noMeta: AnswerMeta = Object.freeze({ server: null });

/** What a stream broke with, read from the error event the proxy wrote (any shape). */
export interface StreamFailure {
  message: string;
  type: string;
  code: string | null;
}

export interface DialectStream {
  /** The content type of the caller's stream (SSE or newline-delimited JSON). */
  readonly contentType: string;
  /** One OpenAI `chat.completion.chunk` (or `text_completion` chunk): the bytes to send now, possibly none. */
  chunk(chunk: Record<string, unknown>): string;
  /** The OpenAI stream's `[DONE]`: the closing bytes. */
  done(): string;
  /** The stream broke after it had begun: its closing error in the caller's shape. */
  fail(failure: StreamFailure): string;
}

/** Epoch seconds, as OpenAI and Anthropic timestamps are. */
export function epochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
