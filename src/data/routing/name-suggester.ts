/**
 * "Did you mean" for a model name nobody serves, at a bounded cost per
 * lookup whatever the fleet's size: any key can send unknown names, so a 404
 * must not compare the name against every known one.
 *
 * Known names are indexed by their character trigrams. A lookup visits the
 * postings of the wanted name's rarest trigrams first (at most
 * `postingBudget` entries: rare trigrams say the most), and runs edit
 * distance on at most `compareCap` names, those sharing the most trigrams.
 */
export interface SuggestOptions {
  limit?: number;
  /** Names the caller may see; others are never suggested. */
  isAllowed?: (name: string) => boolean;
  /** A few more names (route aliases), compared directly. */
  extra?: readonly string[];
}

/** What the last lookup cost, so tests can prove the bound without a clock. */
export interface SuggestCost {
  postingsVisited: number;
  compared: number;
}

// A model name longer than this is not a typo of one we know; suggesting costs O(length²).
const maxWantedLength = 128;
const postingBudget = 4_096;
const compareCap = 48;

interface Entry {
  name: string;
  lower: string;
}

export class NameSuggester {
  readonly #entries = new Map<string, Entry>();
  readonly #postings = new Map<string, Set<Entry>>();
  lastCost: SuggestCost = { postingsVisited: 0, compared: 0 };

  constructor(names: Iterable<string> = []) {
    for (const name of names) this.add(name);
  }

  get size(): number {
    return this.#entries.size;
  }

  add(name: string): void {
    if (this.#entries.has(name)) return;
    const entry = { name, lower: name.toLowerCase() };
    this.#entries.set(name, entry);
    for (const gram of trigrams(entry.lower)) {
      const posting = this.#postings.get(gram);
      if (posting === undefined) this.#postings.set(gram, new Set([entry]));
      else posting.add(entry);
    }
  }

  remove(name: string): void {
    const entry = this.#entries.get(name);
    if (entry === undefined) return;
    this.#entries.delete(name);
    for (const gram of trigrams(entry.lower)) {
      const posting = this.#postings.get(gram);
      posting?.delete(entry);
      if (posting?.size === 0) this.#postings.delete(gram);
    }
  }

  /** Up to `limit` known names closest to `wanted` (edit distance, or containing it), nearest first. */
  suggest(wanted: string, options: SuggestOptions = {}): string[] {
    const cost: SuggestCost = { postingsVisited: 0, compared: 0 };
    this.lastCost = cost;
    if (wanted.length === 0 || wanted.length > maxWantedLength) return [];
    const target = wanted.toLowerCase();
    const maxDistance = Math.max(2, Math.floor(target.length / 3));
    const isAllowed = options.isAllowed ?? (() => true);
    const found: Array<{ name: string; distance: number }> = [];
    const consider = (entry: Entry) => {
      cost.compared++;
      const contains = entry.lower.includes(target);
      const distance = editDistance(target, entry.lower, contains ? Number.POSITIVE_INFINITY : maxDistance);
      if (distance <= maxDistance || contains) found.push({ name: entry.name, distance });
    };
    for (const entry of this.#candidates(target, isAllowed, cost)) consider(entry);
    for (const name of options.extra ?? []) {
      if (!this.#entries.has(name) && isAllowed(name)) consider({ name, lower: name.toLowerCase() });
    }
    return found
      .sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name))
      .slice(0, options.limit ?? 3)
      .map((entry) => entry.name);
  }

  #candidates(target: string, isAllowed: (name: string) => boolean, cost: SuggestCost): Entry[] {
    const grams = [...new Set(trigrams(target))];
    const postings = grams.map((gram) => this.#postings.get(gram)).filter((posting) => posting !== undefined);
    postings.sort((a, b) => a.size - b.size);
    const shared = new Map<Entry, number>();
    visit: for (const posting of postings) {
      for (const entry of posting) {
        if (cost.postingsVisited >= postingBudget) break visit;
        cost.postingsVisited++;
        shared.set(entry, (shared.get(entry) ?? 0) + 1);
      }
    }
    // Those sharing the most trigrams first, by bucket (no sort over thousands of names).
    const byShared: Entry[][] = [];
    for (const [entry, count] of shared) (byShared[count] ??= []).push(entry);
    const kept: Entry[] = [];
    for (let count = byShared.length - 1; count > 0 && kept.length < compareCap; count--) {
      for (const entry of byShared[count] ?? []) {
        if (kept.length >= compareCap) break;
        // Filtered before the cap: a key limited to a few models still gets its near misses.
        if (isAllowed(entry.name)) kept.push(entry);
      }
    }
    return kept;
  }
}

/** Up to three known names closest to a mistyped one, for a helpful 404 (small lists; the index keeps its own). */
export function closeNames(wanted: string, known: readonly string[], limit = 3): string[] {
  return new NameSuggester(known).suggest(wanted, { limit });
}

function trigrams(lower: string): string[] {
  // Marks at both ends, so a name's first and last letters count as much as its middle.
  const padded = `\u0002${lower}\u0003`;
  const grams: string[] = [];
  for (let index = 0; index + 3 <= padded.length; index++) grams.push(padded.slice(index, index + 3));
  return grams;
}

/** Levenshtein distance, or anything above `bound` as soon as it is certain to exceed it. */
export function editDistance(a: string, b: string, bound: number): number {
  if (Math.abs(a.length - b.length) > bound) return bound + 1;
  let previous = new Array<number>(b.length + 1);
  let current = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) previous[j] = j;
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const value = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
      current[j] = value;
      if (value < rowMin) rowMin = value;
    }
    if (rowMin > bound) return bound + 1;
    [previous, current] = [current, previous];
  }
  return previous[b.length] as number;
}
