import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readCapped } from '../../src/data/upstream/read-capped.ts';
import { UpstreamError } from '../../src/data/upstream/upstream-error.ts';

// A whole answer from a model server, read with a cap on its size.

function bodyOf(chunks: string[]): Readable {
  return Readable.from(chunks.map((chunk) => Buffer.from(chunk)), { objectMode: false });
}

describe('readCapped', () => {
  it('answers the whole body, however many chunks it came in', async () => {
    expect((await readCapped(bodyOf(['{"a"', ':1', '}']), 1_024, 'POST /x')).toString()).toBe('{"a":1}');
    expect((await readCapped(bodyOf(['{}']), 1_024, 'POST /x')).toString()).toBe('{}');
    expect((await readCapped(bodyOf([]), 1_024, 'POST /x')).length).toBe(0);
  });

  it('refuses a body past the cap as a protocol failure and destroys it', async () => {
    const body = bodyOf(['x'.repeat(600), 'x'.repeat(600), 'x'.repeat(600)]);
    const read = readCapped(body, 1_024, 'POST /v1/chat/completions');
    await expect(read).rejects.toBeInstanceOf(UpstreamError);
    await expect(read).rejects.toMatchObject({ failure: 'protocol', message: 'POST /v1/chat/completions: answer larger than 1024 bytes' });
    expect(body.destroyed).toBe(true);
  });

  it('passes on the error a body fails with', async () => {
    const failure = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    const body = new Readable({ read() {} });
    const read = readCapped(body, 1_024, 'POST /x');
    body.push(Buffer.from('{"a":'));
    body.destroy(failure);
    await expect(read).rejects.toBe(failure);
  });

  it('fails a body closed before its end with the premature-close code', async () => {
    const body = new Readable({ read() {} });
    const read = readCapped(body, 1_024, 'POST /x');
    body.push(Buffer.from('{"a":'));
    body.destroy();
    await expect(read).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
  });
});
