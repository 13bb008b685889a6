import type { IncomingHttpHeaders } from 'node:http';
import { errors } from '../../errors/error-catalogue.ts';
import { maxTtlS } from '../../control/cache/cache-policy-registry.ts';

/** What the caller asked of the cache for this request. */
export interface CacheDirectives {
  /** `Cache-Control: no-cache`: do not answer from the cache, but store the answer. */
  isReadSkipped: boolean;
  /** `Cache-Control: no-store`: neither read nor store. */
  isBypassed: boolean;
  /** `x-switchyard-cache-ttl: N`: seconds to keep this answer (0: do not store), instead of the policy's. */
  ttlS: number | null;
}

export const cacheTtlHeader = 'x-switchyard-cache-ttl';

export function readCacheDirectives(headers: IncomingHttpHeaders): CacheDirectives {
  const control = headers['cache-control'];
  const tokens = typeof control === 'string' ? control.toLowerCase().split(',').map((token) => token.trim()) : [];
  return { isReadSkipped: tokens.includes('no-cache'), isBypassed: tokens.includes('no-store'), ttlS: readTtl(headers[cacheTtlHeader]) };
}

function readTtl(value: string | string[] | undefined): number | null {
  if (value === undefined) return null;
  const text = Array.isArray(value) ? value[0] ?? '' : value;
  if (!/^\d{1,8}$/.test(text.trim()) || Number(text) > maxTtlS) {
    throw errors.invalidRequest(`The ${cacheTtlHeader} header must be a whole number of seconds from 0 to ${maxTtlS}.`, cacheTtlHeader);
  }
  return Number(text);
}
