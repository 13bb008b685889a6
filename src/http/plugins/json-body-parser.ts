import type { FastifyInstance } from 'fastify';
import secureJsonParse from 'secure-json-parse';
import { errors } from '../../errors/error-catalogue.ts';

/**
 * JSON bodies through secure-json-parse (as Fastify does), but telling the
 * caller which problem it was: broken JSON, or a prototype-pollution key.
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.length === 0) {
      done(errors.invalidRequest('Request body is empty; send a JSON object.'), undefined);
      return;
    }
    try {
      done(null, secureJsonParse.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' }));
    } catch (error) {
      const isPollution = error instanceof SyntaxError && /prototype/i.test(error.message);
      done(
        isPollution ? errors.invalidRequest('Request body contains a forbidden key (__proto__ or constructor.prototype).') : errors.invalidJson(),
        undefined,
      );
    }
  });
}
