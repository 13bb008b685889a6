import type { Readable } from 'node:stream';
import { UpstreamError } from './upstream-error.ts';

/**
 * Reads a whole response body, refusing (and dropping the connection) past `limit` bytes.
 * Listens for 'data' and 'end' rather than iterating: a stream's async iterator costs a
 * promise and a read() call per chunk, on every non-streamed answer (issue 15).
 */
export function readCapped(body: Readable, limit: number, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        body.off('data', onData);
        body.destroy();
        reject(new UpstreamError(`${what}: answer larger than ${limit} bytes`, { failure: 'protocol' }));
        return;
      }
      chunks.push(chunk);
    };
    body.on('data', onData);
    body.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    // After a refusal the promise is settled already; destroying the body then reports nothing new.
    body.once('error', reject);
    // Closed without an end or an error: what the async iterator threw in this case, mapped by its code as before.
    body.once('close', () => {
      if (!body.readableEnded) reject(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    });
  });
}
