/**
 * A URL as it may be logged: every query value and any user:password replaced,
 * names kept (they help debugging; values may be keys a caller put in the URL,
 * `?api_key=…`, which the gateway refuses but would otherwise write to its log).
 */
export function redactUrl(url: string): string {
  const hashAt = url.indexOf('#');
  const withoutFragment = hashAt === -1 ? url : url.slice(0, hashAt);
  const queryAt = withoutFragment.indexOf('?');
  const path = redactUserInfo(queryAt === -1 ? withoutFragment : withoutFragment.slice(0, queryAt));
  if (queryAt === -1) return path;
  const query = withoutFragment
    .slice(queryAt + 1)
    .split('&')
    .map((pair) => {
      const equalsAt = pair.indexOf('=');
      // A bare `?sk-…` is a value without a name: redact it all.
      return equalsAt === -1 ? (pair === '' ? '' : '[redacted]') : `${pair.slice(0, Math.min(equalsAt, 64))}=[redacted]`;
    })
    .join('&');
  return `${path}?${query}`;
}

function redactUserInfo(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1[redacted]@');
}
