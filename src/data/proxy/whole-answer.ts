import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { UpstreamError } from '../upstream/upstream-error.ts';

/** An answer read whole: its head as soon as it arrives, its bytes once the body has. */
export interface WholeAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body, refused as a protocol failure past the limit; rejects with undici's error when the body fails. */
  bytes: Promise<Buffer>;
  /** The body is not wanted: what is left is read and dropped (the connection stays reusable), or cut past 128 KiB. */
  discard: () => void;
}

/** Past this much, dropping a body costs more than a new connection (undici's own dump() limit). */
const discardLimit = 128 * 1024;

/**
 * One upstream request whose answer is read whole, through undici's dispatch(): the body's
 * chunks are collected as they arrive, without the Readable, the async resource and the
 * stream machinery that request() builds for every answer (issue 15: 10-20 µs of CPU a request
 * less on this path). Like request(), it resolves at the head; the signal aborts it at any time.
 */
export function requestWhole(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, signal: AbortSignal, limit: number, what: string): Promise<WholeAnswer> {
  return new Promise((resolve, reject) => {
    let controller: Dispatcher.DispatchController | null = null;
    const onAbort = () => controller?.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const chunks: Buffer[] = [];
    let size = 0;
    let isKept = true;
    let hasHead = false;
    let settleBytes: { resolve: (bytes: Buffer) => void; reject: (error: Error) => void } | null = null;
    const bytes = new Promise<Buffer>((resolveBytes, rejectBytes) => (settleBytes = { resolve: resolveBytes, reject: rejectBytes }));
    // Nobody awaits the bytes of a discarded answer: its failure must not surface as an unhandled rejection.
    bytes.catch(() => undefined);
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(started) {
        controller = started;
        if (signal.aborted) started.abort(signal.reason);
      },
      onResponseStart(started, status, headers) {
        // 1xx (100 Continue, 103 Early Hints) are not the answer.
        if (status < 200) return;
        hasHead = true;
        const discard = () => {
          isKept = false;
          chunks.length = 0;
          if (size > discardLimit) started.abort(new UpstreamError(`${what}: answer discarded`, { failure: 'protocol' }));
        };
        resolve({ status, headers, bytes, discard });
      },
      onResponseData(started, chunk) {
        size += chunk.length;
        if (isKept && size <= limit) {
          chunks.push(chunk);
          return;
        }
        if (isKept) {
          isKept = false;
          chunks.length = 0;
          started.abort(new UpstreamError(`${what}: answer larger than ${limit} bytes`, { failure: 'protocol' }));
        } else if (size > discardLimit) {
          started.abort(new UpstreamError(`${what}: answer discarded`, { failure: 'protocol' }));
        }
      },
      onResponseEnd() {
        signal.removeEventListener('abort', onAbort);
        settleBytes?.resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
      },
      onResponseError(_started, error) {
        signal.removeEventListener('abort', onAbort);
        if (hasHead) settleBytes?.reject(error);
        else reject(error);
      },
    };
    try {
      dispatcher.dispatch(options, handler);
    } catch (error) {
      signal.removeEventListener('abort', onAbort);
      reject(error);
    }
  });
}
