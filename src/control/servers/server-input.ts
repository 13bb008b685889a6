import { errors } from '../../errors/error-catalogue.ts';

// Names travel in response headers (x-switchyard-server), so they stay printable ASCII.
const namePattern = /^[A-Za-z0-9][A-Za-z0-9 ._:@()-]{0,99}$/;

export function validateServerName(name: string): string {
  const trimmed = name.trim();
  if (!namePattern.test(trimmed)) {
    throw errors.invalidRequest(
      'name must be 1-100 characters: letters, digits, spaces and . _ : @ ( ) -, starting with a letter or digit.',
      'name',
    );
  }
  return trimmed;
}

/**
 * A server's base URL: http(s) only, no credentials (keys go in api_key,
 * where they are encrypted), no query or fragment. A trailing `/v1`, as
 * people paste for OpenAI clients, is dropped: adapters add their own paths.
 */
export function normalizeBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw errors.invalidRequest('base_url is not a valid URL.', 'base_url');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw errors.invalidRequest('base_url must use http or https.', 'base_url');
  }
  if (url.username !== '' || url.password !== '') {
    throw errors.invalidRequest('base_url must not contain credentials; send the key as api_key.', 'base_url');
  }
  if (url.search !== '' || url.hash !== '') {
    throw errors.invalidRequest('base_url must not contain a query string or fragment.', 'base_url');
  }
  if (url.hostname === '') throw errors.invalidRequest('base_url has no host.', 'base_url');
  const path = url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '');
  return `${url.protocol}//${url.host}${path}`;
}
