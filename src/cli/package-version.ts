import { readFileSync } from 'node:fs';

/** The version in package.json, read when asked for (a JSON import would be parsed on every start). */
export function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : 'unknown';
}
