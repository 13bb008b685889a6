import type { FastifyReply, FastifyRequest } from 'fastify';

/** An open Server-Sent Events answer. */
export interface EventStream {
  /** Writes one event; false once the client has gone (nothing is written then). */
  send(event: string, data: unknown): boolean;
  /** Ends the stream (the client sees a clean end). */
  end(): void;
  /** Runs once when the stream ends, whoever ends it. */
  onClose(cleanup: () => void): void;
}

const heartbeatMs = 15_000;

/**
 * Turns a GET into a live SSE stream: headers at once, a comment heartbeat so
 * proxies keep it open, and one cleanup when it ends. Answers null for HEAD
 * (the headers only).
 */
export function openEventStream(request: FastifyRequest, reply: FastifyReply): EventStream | null {
  reply.hijack();
  const response = reply.raw;
  response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no', 'x-request-id': request.id });
  // HEAD gets the headers and nothing more (Node sends them only at end() for HEAD).
  if (request.method === 'HEAD') {
    response.end();
    return null;
  }
  response.write(': connected\n\n');
  const heartbeat = setInterval(() => response.write(': heartbeat\n\n'), heartbeatMs);
  heartbeat.unref();
  response.on('close', () => clearInterval(heartbeat));
  return {
    send(event, data) {
      if (response.destroyed || response.writableEnded) return false;
      response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      return true;
    },
    end() {
      if (!response.writableEnded) response.end();
    },
    onClose(cleanup) {
      response.once('close', cleanup);
    },
  };
}
