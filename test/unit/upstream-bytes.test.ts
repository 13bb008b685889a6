import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { looksLikeJson } from '../../src/data/proxy/answer-bytes.ts';
import { headerValue } from '../../src/data/proxy/header-value.ts';
import { SseBoundary } from '../../src/data/proxy/sse-boundary.ts';
import { scanEvents } from '../../src/data/proxy/sse-events.ts';
import { UpstreamError } from '../../src/data/upstream/upstream-error.ts';

// What the proxy makes of bytes a model server controls: SSE framing, event
// checks, answer checks, and values that end up in response headers.

describe('SseBoundary on hostile framing', () => {
  it('finds a blank line split across chunks in every way LF and CRLF framing can split it', () => {
    for (const separator of ['\n\n', '\r\n\r\n']) {
      const bytes = Buffer.from(`data: {"a":1}${separator}data: {"b":2}${separator}`);
      for (let cut = 1; cut < bytes.length; cut++) {
        const boundary = new SseBoundary(1024);
        const out = Buffer.concat([boundary.push(bytes.subarray(0, cut)), boundary.push(bytes.subarray(cut))]);
        expect(out.toString(), `cut at ${cut}`).toBe(bytes.toString());
        expect(boundary.hasPartialEvent).toBe(false);
      }
    }
  });

  it('reassembles an event that arrives one byte at a time', () => {
    const bytes = Buffer.from('data: {"t":"é"}\r\n\r\ndata: [DONE]\n\n');
    const boundary = new SseBoundary(1024);
    const out: Buffer[] = [];
    for (let index = 0; index < bytes.length; index++) out.push(boundary.push(bytes.subarray(index, index + 1)));
    expect(Buffer.concat(out).toString()).toBe(bytes.toString());
  });

  it('refuses an event that grows past the cap with an upstream protocol error, and holds no more than the cap', () => {
    const boundary = new SseBoundary(4096);
    expect(boundary.push(Buffer.from('data: {"a":1}\n\ndata: "'))).toHaveLength(15);
    const padding = Buffer.alloc(1000, 'x');
    for (let round = 0; round < 4; round++) expect(boundary.push(padding)).toHaveLength(0);
    let thrown: unknown;
    try {
      boundary.push(padding);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UpstreamError);
    expect(thrown).toMatchObject({ failure: 'protocol', code: 'SY_UPSTREAM_PROTOCOL' });
    expect(boundary.hasPartialEvent).toBe(false);
  });

  it('lets events of any total size through when each ends within the cap', () => {
    const boundary = new SseBoundary(1024);
    const event = `data: {"t":"${'y'.repeat(900)}"}\n\n`;
    let forwarded = 0;
    for (let round = 0; round < 100; round++) forwarded += boundary.push(Buffer.from(event.slice(0, 500))).length + boundary.push(Buffer.from(event.slice(500))).length;
    expect(forwarded).toBe(100 * Buffer.byteLength(event));
  });
});

describe('scanEvents', () => {
  const scan = (text: string) => {
    const tally = { events: 0 };
    return { badAt: scanEvents(Buffer.from(text), tally), events: tally.events };
  };

  it('passes JSON objects, arrays, [DONE], comments, other fields and empty data', () => {
    expect(scan('data: {"a":1}\n\n: keep-alive\n\nevent: delta\nid: 7\ndata:{"b":[1]}\r\n\r\ndata: [1,2]\n\ndata:\n\ndata: [DONE]\n\n')).toEqual({ badAt: -1, events: 4 });
  });

  it('checks data split over several lines as one event', () => {
    expect(scan('data: {"a":\ndata: 1}\n\n')).toEqual({ badAt: -1, events: 1 });
    expect(scan('data: {"a":\ndata: 1\n\n').badAt).toBe(0);
  });

  it('finds where the first malformed event starts, so the events before it can still go out', () => {
    const good = 'data: {"a":1}\n\n';
    expect(scan(`${good}id: 3\ndata: {"broken":\n\n${good}`)).toEqual({ badAt: good.length, events: 1 });
    expect(scan('data: <html>oops\n\n').badAt).toBe(0);
    expect(scan('data: plain text\r\n\r\n').badAt).toBe(0);
  });

  it('is not fooled by "data:" inside a JSON string', () => {
    expect(scan('data: {"t":"x data: y"}\n\n')).toEqual({ badAt: -1, events: 1 });
  });
});

describe('looksLikeJson', () => {
  it('accepts objects and arrays with surrounding whitespace', () => {
    for (const text of ['{"a":1}', ' \n[1,2]\r\n', '{}']) expect(looksLikeJson(Buffer.from(text)), text).toBe(true);
  });

  it('refuses HTML, plain text, empty and cut-off answers', () => {
    for (const text of ['<html>oops', 'Internal Server Error', '', '   ', '{"choices":[', '[1,2', '"a string"', '{']) {
      expect(looksLikeJson(Buffer.from(text)), text).toBe(false);
    }
  });
});

function writesAsHeader(value: string): boolean {
  const response = new ServerResponse(new IncomingMessage(new Socket()));
  try {
    response.setHeader('x-test', value);
    return true;
  } catch {
    return false;
  }
}

describe('headerValue', () => {
  it('leaves printable ASCII untouched', () => {
    const plain = 'qwen2.5:7b-instruct gpu-0 (route a/b) ~!@#$^&*()_+';
    expect(headerValue(plain)).toBe(plain);
  });

  it('percent-encodes newlines, control characters, UTF-8 and %, so any value can be written and decoded back', () => {
    for (const value of ['line\nbreak', 'cr\rlf', 'tab\there', 'modèle-🚀', '50%', 'nul\u0000', 'del\u007f', 'ÿ']) {
      const encoded = headerValue(value);
      expect(writesAsHeader(encoded), value).toBe(true);
      expect(encoded).toMatch(/^[\x20-\x7e]*$/);
      expect(decodeURIComponent(encoded)).toBe(value);
    }
    expect(writesAsHeader('line\nbreak')).toBe(false);
    expect(writesAsHeader('modèle-🚀')).toBe(false);
  });

  it('replaces a lone surrogate instead of throwing', () => {
    const encoded = headerValue('bad\ud800id');
    expect(writesAsHeader(encoded)).toBe(true);
    expect(decodeURIComponent(encoded)).toBe('bad\ufffdid');
  });
});

describe('upstream timeouts and caps', () => {
  it('defaults suit a gateway: 5 s connect, 60 s to a stream\'s first byte, 120 s for a non-streamed answer, 5 min deadline, 1 MiB events', () => {
    expect(loadConfig({ env: {} }).config.upstream).toMatchObject({
      connect_timeout_ms: 5_000,
      first_byte_timeout_ms: 60_000,
      non_stream_timeout_ms: 120_000,
      idle_timeout_ms: 60_000,
      request_deadline_ms: 300_000,
      max_stream_duration_ms: 1_800_000,
      max_event_bytes: 1_048_576,
    });
  });

  it('reads the new settings from the environment', () => {
    const { upstream } = loadConfig({ env: { SWITCHYARD_NON_STREAM_TIMEOUT_MS: '9000', SWITCHYARD_MAX_EVENT_BYTES: '65536' } }).config;
    expect(upstream).toMatchObject({ non_stream_timeout_ms: 9_000, max_event_bytes: 65_536 });
  });
});
