import { describe, expect, it } from 'vitest';
import { normalizeBaseUrl, validateServerName } from '../../src/control/servers/server-input.ts';

describe('normalizeBaseUrl', () => {
  it('keeps http(s) URLs, dropping a trailing slash and a pasted /v1', () => {
    expect(normalizeBaseUrl('http://10.0.0.2:8000/')).toBe('http://10.0.0.2:8000');
    expect(normalizeBaseUrl('https://gpu.internal:8443/v1')).toBe('https://gpu.internal:8443');
    expect(normalizeBaseUrl('http://proxy.internal/ollama/')).toBe('http://proxy.internal/ollama');
  });

  it.each([
    ['ftp://host/x', /http or https/],
    ['file:///etc/passwd', /http or https/],
    ['http://user:pass@host:11434', /credentials/],
    ['http://host:11434/?a=1', /query/],
    ['not a url', /not a valid URL/],
    ['javascript:alert(1)', /http or https/],
  ])('rejects %s', (url, message) => {
    expect(() => normalizeBaseUrl(url)).toThrow(message);
  });
});

describe('validateServerName', () => {
  it('accepts readable names and rejects control characters and header-breaking text', () => {
    expect(validateServerName(' gpu-1 (A100) ')).toBe('gpu-1 (A100)');
    expect(() => validateServerName('bad\r\nx-injected: 1')).toThrow(/name must be/);
    expect(() => validateServerName('../etc')).toThrow(/name must be/);
    expect(() => validateServerName('')).toThrow(/name must be/);
  });
});
