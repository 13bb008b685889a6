import { Type } from 'typebox';

/**
 * The params schema of a route whose name is the rest of the path (`/prices/*`):
 * model and collection names hold `/` and `:` (`org/model`, `llama3:8b`), sent
 * as they are or URL-encoded. It only describes `*` for the published document;
 * any string passes, as before it had a schema.
 */
export function wildcardParams(description: string) {
  return Type.Object({ '*': Type.String({ description }) });
}
