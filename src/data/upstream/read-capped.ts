import { UpstreamError } from './upstream-error.ts';

/** Reads a whole response body, refusing (and dropping the connection) past `limit` bytes. */
export async function readCapped(body: AsyncIterable<Buffer> & { destroy?: () => void }, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      body.destroy?.();
      throw new UpstreamError(`${what}: answer larger than ${limit} bytes`, { failure: 'protocol' });
    }
    chunks.push(chunk);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}
