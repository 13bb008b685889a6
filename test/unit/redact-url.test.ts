import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/observability/redact-url.ts';

describe('redactUrl', () => {
  it.each([
    ['/v1/models', '/v1/models'],
    ['/v1/models?api_key=sk-1', '/v1/models?api_key=[redacted]'],
    ['/x?a=1&b=&c', '/x?a=[redacted]&b=[redacted]&[redacted]'],
    ['/x?sk-bare-key', '/x?[redacted]'],
    ['/x?', '/x?'],
    ['/x?a=1#fragment-secret', '/x?a=[redacted]'],
    ['http://user:pass@example.com/hook?sig=abc', 'http://[redacted]@example.com/hook?sig=[redacted]'],
    ['https://example.com/path', 'https://example.com/path'],
  ])('%s → %s', (input, expected) => {
    expect(redactUrl(input)).toBe(expected);
  });
});
