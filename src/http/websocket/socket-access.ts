import type { FastifyReply, FastifyRequest } from 'fastify';
import type { KeyRing, Scope } from '../../auth/key-ring.ts';
import { AppError } from '../../errors/app-error.ts';
import { errors } from '../../errors/error-catalogue.ts';
import { presentedKey, requireScope, type SessionLookup } from '../plugins/authenticate.ts';

/** Query parameters that would carry a key: refused outright, a URL ends up in logs and browser history. */
const keyParameters = ['key', 'api_key', 'apikey', 'api-key', 'token', 'access_token', 'authorization'];

/**
 * The checks a WebSocket endpoint makes on the upgrade request, before any
 * socket exists, with REST's own authentication: a header key or the
 * console's session cookie must hold `scopes` (401 or 403 as REST answers).
 * Without either, the upgrade goes ahead and the socket must send
 * `{type: "auth", key}` first (browsers cannot set headers on a WebSocket).
 * A plain HTTP request gets 426 once its key has been checked.
 */
export function websocketAccess(keyRing: KeyRing, scopes: readonly Scope[], sessions?: SessionLookup) {
  const authenticate = requireScope(keyRing, () => scopes, sessions);
  return async function checkAccess(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const query = request.query as Record<string, unknown>;
    const inUrl = keyParameters.find((name) => query[name] !== undefined);
    if (inUrl !== undefined) throw errors.invalidRequest(`A key in the URL (${inUrl}) is refused: URLs end up in logs. Send it in the Authorization header, or as the first message {"type": "auth", "key": "…"}.`, inUrl);
    const isUpgrade = String(request.headers.upgrade ?? '').toLowerCase() === 'websocket';
    const hasSession = sessions !== undefined && request.cookies?.['sy_session'] !== undefined;
    // A browser sends the cookie to any site's WebSocket: only our own pages may use it (cross-site WebSocket hijacking).
    if (presentedKey(request) === null && hasSession && !isSameOrigin(request)) {
      throw new AppError('SY_FORBIDDEN', { message: 'The console session is accepted only from the console\'s own origin. Send a key instead.' });
    }
    if (presentedKey(request) !== null || hasSession || !isUpgrade) await authenticate(request, reply);
    if (!isUpgrade) throw errors.upgradeRequired();
  };
}

function isSameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}
