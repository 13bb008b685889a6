import type { OutgoingHttpHeaders } from 'node:http';

/** The model server that answered, from the header REST sets on every inference answer (`x-switchyard-server`). */
export function serverOf(headers: OutgoingHttpHeaders): string | undefined {
  const value = headers['x-switchyard-server'];
  return typeof value === 'string' ? value : undefined;
}
