import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { KeyRing } from '../../auth/key-ring.ts';
import { sessionCookie, sessionLifetimeSeconds, type SessionStore } from '../../auth/session-store.ts';
import { errors } from '../../errors/error-catalogue.ts';

/** The group these routes are listed under in the published API document (/docs). */
const tags = ['Console session'];

const SignInBody = Type.Object({ key: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false });

/** Console sign-in: a key in, an httpOnly SameSite=Strict session cookie out. */
export async function sessionRoutes(instance: FastifyInstance, dependencies: { keyRing: KeyRing; sessions: SessionStore }): Promise<void> {
  const app = instance.withTypeProvider<TypeBoxTypeProvider>();
  const { keyRing, sessions } = dependencies;
  const cookieOptions = (secure: boolean) => ({ httpOnly: true, sameSite: 'strict' as const, path: '/', secure, maxAge: sessionLifetimeSeconds });

  app.post('/session', { schema: { tags, summary: 'Sign in to the console with a key (sets the session cookie)', body: SignInBody } }, async (request, reply) => {
    const principal = keyRing.authenticate(request.body.key);
    if (principal === null) throw errors.unauthenticated();
    reply.setCookie(sessionCookie, sessions.create(principal.keyId), cookieOptions(request.protocol === 'https'));
    return reply.status(201).send({ name: principal.name, scopes: principal.scopes });
  });

  app.get('/session', { schema: { tags, summary: 'Who the console session belongs to' } }, async (request) => {
    const id = request.cookies[sessionCookie];
    const keyId = id === undefined ? null : sessions.keyIdOf(id);
    const principal = keyId === null ? null : keyRing.principalById(keyId);
    if (principal === null) throw errors.unauthenticated();
    return { name: principal.name, scopes: principal.scopes };
  });

  app.delete('/session', { schema: { tags, summary: 'Sign out of the console' } }, async (request, reply) => {
    const id = request.cookies[sessionCookie];
    if (id !== undefined) sessions.delete(id);
    reply.clearCookie(sessionCookie, { path: '/' });
    return reply.status(204).send();
  });
}
