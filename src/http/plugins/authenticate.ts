import type { FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/cookie';
import { hasScope, type KeyRing, type Principal, type Scope } from '../../auth/key-ring.ts';
import { errors } from '../../errors/error-catalogue.ts';
import type { Actor } from '../../domain/audit.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** The key from `Authorization: Bearer`, `x-api-key` or `api-key`: one path for every route. */
export function presentedKey(request: FastifyRequest): string | null {
  const authorization = request.headers['authorization'];
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    return match?.[1]?.trim() ?? null;
  }
  for (const header of ['x-api-key', 'api-key']) {
    const value = request.headers[header];
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
  }
  return null;
}

/** Sessions are optional: without them only keys authenticate. */
export interface SessionLookup {
  keyIdOf(sessionId: string): string | null;
}

/**
 * A hook that admits keys holding `scope` (reads need `read`, changes `admin`).
 * A key in a header wins; otherwise the console's session cookie. Changes made
 * with a cookie must come from our own origin (the cookie is also SameSite=Strict).
 */
export function requireScope(keyRing: KeyRing, scopeFor: (request: FastifyRequest) => Scope | readonly Scope[], sessions?: SessionLookup) {
  return async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const key = presentedKey(request);
    let principal = key === null ? null : keyRing.authenticate(key);
    if (key === null && sessions !== undefined) principal = sessionPrincipal(request, keyRing, sessions);
    if (principal === null) throw errors.unauthenticated();
    // Several scopes: any one of them admits (e.g. collection changes take admin or vectors:write).
    const scope = scopeFor(request);
    const accepted = typeof scope === 'string' ? [scope] : scope;
    if (!accepted.some((candidate) => hasScope(principal, candidate))) throw errors.forbidden(accepted.join('" or "'));
    request.principal = principal;
  };
}

/** The audit log's view of who made this request. */
export function actorOf(request: FastifyRequest): Actor {
  return { keyId: request.principal?.keyId ?? null, requestId: request.id, sourceIp: request.ip };
}

export function adminScopeFor(request: FastifyRequest): Scope {
  return request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'admin';
}

function sessionPrincipal(request: FastifyRequest, keyRing: KeyRing, sessions: SessionLookup): Principal | null {
  const sessionId = request.cookies?.['sy_session'];
  if (sessionId === undefined) return null;
  const keyId = sessions.keyIdOf(sessionId);
  if (keyId === null) return null;
  const isChange = request.method !== 'GET' && request.method !== 'HEAD';
  const origin = request.headers['origin'];
  if (isChange && typeof origin === 'string' && hostOf(origin) !== request.headers['host']) return null;
  return keyRing.principalById(keyId);
}

function hostOf(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}
