import type { FastifyInstance } from 'fastify';
import secureJsonParse from 'secure-json-parse';
import { errors } from '../../errors/error-catalogue.ts';

// Deep enough for any real request (tool schemas nest a few levels), shallow enough
// that no body can make later code recurse dangerously.
const maxDepth = 64;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON bodies: strict UTF-8, secure-json-parse (refuses __proto__ and
 * constructor.prototype keys), and a depth limit. Each failure says which.
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  // The API speaks JSON only: any other body type is a 415, not a string the validator then trips on.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parseJsonBody);
}

/**
 * For APIs whose clients send JSON under any content type or none (Ollama's
 * server reads the body as JSON whatever the header says, so `curl -d` with
 * no header works there; operators' curl checks of the model REST API do the
 * same): every body on these routes is parsed as JSON, by the same rules.
 */
export function acceptJsonUnderAnyContentType(instance: FastifyInstance): void {
  instance.addContentTypeParser('*', { parseAs: 'buffer' }, parseJsonBody);
}

function parseJsonBody(_request: unknown, body: Buffer | string, done: (error: Error | null, value?: unknown) => void): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  if (bytes.length === 0) return done(errors.invalidRequest('Request body is empty; send a JSON object.'), undefined);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return done(errors.invalidRequest('Request body is not valid UTF-8.'), undefined);
  }
  let value: unknown;
  try {
    value = secureJsonParse.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    const isPollution = error instanceof SyntaxError && /prototype/i.test(error.message);
    return done(isPollution ? errors.invalidRequest('Request body contains a forbidden key (__proto__ or constructor.prototype).') : errors.invalidJson(), undefined);
  }
  if (depthOf(value) > maxDepth) return done(errors.invalidRequest(`Request body is nested deeper than ${maxDepth} levels.`), undefined);
  return done(null, value);
}

/** Nesting depth, measured without recursion. */
function depthOf(root: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop() as [unknown, number];
    if (value === null || typeof value !== 'object') continue;
    deepest = Math.max(deepest, depth);
    if (deepest > maxDepth) return deepest;
    for (const child of Array.isArray(value) ? value : Object.values(value)) stack.push([child, depth + 1]);
  }
  return deepest;
}
