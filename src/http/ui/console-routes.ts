import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { errors } from '../../errors/error-catalogue.ts';

export const consoleRoot = fileURLToPath(new URL('../../../ui/dist', import.meta.url));

/** The built console at /ui (same origin as the API); any unknown /ui path is the app's own route. */
export async function consoleRoutes(app: FastifyInstance): Promise<void> {
  // The console's pages and files are not API: left out of the published document.
  const hidden = { schema: { hide: true } };
  app.get('/', hidden, async (_request, reply) => reply.redirect('/ui/'));
  // Browsers ask for /favicon.ico on any page without an icon link (the API's JSON, /metrics): the console's icon answers.
  app.get('/favicon.ico', hidden, async (_request, reply) => reply.redirect('/ui/favicon.svg'));
  if (!existsSync(consoleRoot)) {
    app.get('/ui/*', hidden, async () => {
      throw errors.consoleNotBuilt();
    });
    return;
  }
  await app.register(fastifyStatic, { root: consoleRoot, prefix: '/ui/', index: ['index.html'], wildcard: false });
  app.get('/ui', hidden, async (_request, reply) => reply.redirect('/ui/'));
  app.get('/ui/*', hidden, async (_request, reply) => reply.sendFile('index.html'));
}
