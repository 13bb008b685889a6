import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
  packages: Record<string, { dev?: boolean; engines?: { node?: string } | string[] }>;
};

type Version = [number, number, number];

/** Whether a version satisfies an npm engines range of the forms dependencies use (||, >=, >, <, <=, ^, ~, x-ranges). */
function satisfies(version: Version, range: string): boolean {
  return range.split('||').some((set) =>
    set
      .trim()
      .replace(/([<>=^~]+)\s+/g, '$1')
      .split(/\s+/)
      .filter((part) => part !== '')
      .every((comparator) => matches(version, comparator)),
  );
}

function matches(version: Version, comparator: string): boolean {
  const [, operator = '', text = ''] = /^([<>=^~]*)v?(.*)$/.exec(comparator) ?? [];
  const parts = text.split('.').filter((part) => part !== '' && part !== 'x' && part !== '*').map(Number);
  const bound: Version = [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0];
  const compare = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
  switch (operator) {
    case '>=':
      return compare(version, bound) >= 0;
    case '>':
      return compare(version, bound) > 0;
    case '<':
      return compare(version, bound) < 0;
    case '<=':
      return compare(version, bound) <= 0;
    case '^':
      return compare(version, bound) >= 0 && version[0] === bound[0];
    case '~':
      return compare(version, bound) >= 0 && version[0] === bound[0] && version[1] === bound[1];
    default:
      // 18, 20.x, 22.12.0: everything the given parts fix.
      return parts.every((part, index) => version[index] === part);
  }
}

// The lowest version of each major line the engines range admits.
const floors: Version[] = [
  [22, 19, 0],
  [23, 6, 0],
  [24, 0, 0],
];

describe('engines', () => {
  it('admits only Node versions every production dependency supports (undici 8 needs 22.19)', () => {
    const unmet: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const range = !Array.isArray(entry.engines) ? entry.engines?.node : undefined;
      if (path === '' || entry.dev === true || range === undefined) continue;
      for (const floor of floors) if (!satisfies(floor, range)) unmet.push(`${path} needs ${range}, engines admits ${floor.join('.')}`);
    }
    expect(unmet).toEqual([]);
  });

  it('starts exactly at those floors: the version before each is refused, by engines and by the start-up check', () => {
    for (const floor of floors) expect(satisfies(floor, manifest.engines.node), floor.join('.')).toBe(true);
    for (const below of [[22, 18, 9], [23, 5, 0], [21, 9, 0]] as Version[]) expect(satisfies(below, manifest.engines.node), below.join('.')).toBe(false);
    expect(readFileSync(new URL('bin/switchyard.js', root), 'utf8')).toContain('(major === 22 && minor < 19) || (major === 23 && minor < 6)');
  });

  it('reads the range forms dependencies use', () => {
    expect(satisfies([22, 19, 0], '>=22.19.0')).toBe(true);
    expect(satisfies([22, 18, 0], '>=22.19.0')).toBe(false);
    expect(satisfies([23, 1, 0], '^22.12.0 || ^24.0.0 || >=26.0.0')).toBe(false);
    expect(satisfies([24, 1, 0], '^16 || ^18 || >=20')).toBe(true);
    expect(satisfies([22, 0, 0], '18 || 20 || >=22')).toBe(true);
    expect(satisfies([19, 0, 0], '18 || 20 || >=22')).toBe(false);
    expect(satisfies([22, 0, 0], '>= 16.0.0')).toBe(true);
  });
});
