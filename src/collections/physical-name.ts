import { randomBytes } from 'node:crypto';

/**
 * The backend's name for a logical collection: its name where the backends
 * all accept it (Qdrant shows collections by the mapping's name), otherwise
 * a cleaned-up form; a re-embed's new collection adds a short random suffix,
 * so the old and new ones live side by side until the swap.
 */
export function physicalNameFor(name: string, isTaken: (candidate: string) => boolean, generation: 'first' | 'next'): string {
  const base = name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 48) || 'collection';
  if (generation === 'first' && !isTaken(base)) return base;
  for (;;) {
    const candidate = `${base}_${randomBytes(4).toString('hex')}`;
    if (!isTaken(candidate)) return candidate;
  }
}
