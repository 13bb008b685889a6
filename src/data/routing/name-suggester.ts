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
const postingBudget = 2_048;
const compareCap = 32;

interface Entry {
  name: string;
  lower: string;
  // Scratch for one lookup (cheaper than a Map keyed by entry): the lookup that last counted it, and the count.
  lookup: number;
  shared: number;
}

export class NameSuggester {
  readonly #entries = new Map<string, Entry>();
  // Arrays, not Sets: a lookup iterates postings (hot), removal is rare (a model leaving the fleet).
  readonly #postings = new Map<string, Entry[]>();
  lastCost: SuggestCost = { postingsVisited: 0, compared: 0 };
  #lookups = 0;

  constructor(names: Iterable<string> = []) {
    for (const name of names) this.add(name);
  }

  get size(): number {
    return this.#entries.size;
  }

  add(name: string): void {
    if (this.#entries.has(name)) return;
    const entry: Entry = { name, lower: name.toLowerCase(), lookup: 0, shared: 0 };
    this.#entries.set(name, entry);
    for (const gram of new Set(trigrams(entry.lower))) {
      const posting = this.#postings.get(gram);
      if (posting === undefined) this.#postings.set(gram, [entry]);
      else posting.push(entry);
    }
  }

  remove(name: string): void {
    const entry = this.#entries.get(name);
    if (entry === undefined) return;
    this.#entries.delete(name);
    for (const gram of new Set(trigrams(entry.lower))) {
      const posting = this.#postings.get(gram);
      if (posting === undefined) continue;
      const at = posting.indexOf(entry);
      if (at === -1) continue;
      posting[at] = posting[posting.length - 1] as Entry;
      posting.pop();
      if (posting.length === 0) this.#postings.delete(gram);
    }
  }

  /** Up to `limit` known names closest to `wanted` (edit distance, or containing it), nearest first. */
  suggest(wanted: string, options: SuggestOptions = {}): string[] {
    const cost: SuggestCost = { postingsVisited: 0, compared: 0 };
    this.lastCost = cost;
    if (wanted.length === 0 || wanted.length > maxWantedLength) return [];
    const target = wanted.toLowerCase();
    const limit = options.limit ?? 3;
    const isAllowed = options.isAllowed ?? (() => true);
    const found: Array<{ name: string; distance: number }> = [];
    // Once `limit` names are found, a farther one cannot make the list: compare only up to the worst kept.
    let bound = Math.max(2, Math.floor(target.length / 3));
    const consider = (entry: Entry) => {
      cost.compared++;
      // Containing the wanted name, it is exactly the extra letters away (and always a candidate).
      const contains = entry.lower.includes(target);
      const distance = contains ? entry.lower.length - target.length : editDistance(target, entry.lower, bound);
      if (!contains && distance > bound) return;
      found.push({ name: entry.name, distance });
      found.sort(byDistanceThenName);
      if (found.length > limit) found.length = limit;
      if (found.length === limit) bound = Math.min(bound, (found[limit - 1] as { distance: number }).distance);
    };
    for (const entry of this.#candidates(target, isAllowed, cost)) consider(entry);
    for (const name of options.extra ?? []) {
      if (!this.#entries.has(name) && isAllowed(name)) consider({ name, lower: name.toLowerCase(), lookup: 0, shared: 0 });
    }
    return found.map((entry) => entry.name);
  }

  /** Names sharing the most trigrams with `target`, most first, at most `compareCap`. */
  #candidates(target: string, isAllowed: (name: string) => boolean, cost: SuggestCost): Entry[] {
    const grams = [...new Set(trigrams(target))];
    const postings = grams.map((gram) => this.#postings.get(gram)).filter((posting) => posting !== undefined);
    postings.sort((a, b) => a.length - b.length);
    const lookup = ++this.#lookups;
    const counted: Entry[] = [];
    visit: for (const posting of postings) {
      for (const entry of posting) {
        if (cost.postingsVisited >= postingBudget) break visit;
        cost.postingsVisited++;
        if (entry.lookup !== lookup) {
          entry.lookup = lookup;
          entry.shared = 0;
          counted.push(entry);
        }
        entry.shared++;
      }
    }
    // The share a name needs to be among the best `compareCap`, from a histogram (no sort of thousands).
    const histogram = new Uint16Array(grams.length + 1);
    for (const entry of counted) histogram[entry.shared] = (histogram[entry.shared] as number) + 1;
    let threshold = grams.length;
    for (let total = 0; threshold > 1 && total + (histogram[threshold] as number) < compareCap; threshold--) total += histogram[threshold] as number;
    const kept: Entry[] = [];
    // Filtered before the cap: a key limited to a few models still gets its near misses.
    for (const entry of counted) if (entry.shared > threshold && isAllowed(entry.name)) kept.push(entry);
    for (const entry of counted) {
      if (kept.length >= compareCap) break;
      if (entry.shared === threshold && isAllowed(entry.name)) kept.push(entry);
    }
    return kept.sort((a, b) => b.shared - a.shared);
  }
}

function byDistanceThenName(a: { name: string; distance: number }, b: { name: string; distance: number }): number {
  // Code-unit order for ties: localeCompare costs more than the whole lookup.
  return a.distance - b.distance || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
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

// Two rows reused by every comparison (grown for a longer name): no allocation per lookup.
let rowA = new Uint32Array(256);
let rowB = new Uint32Array(256);

/**
 * Levenshtein distance when it is at most `bound`, else `bound + 1`. Only
 * the diagonal band |i - j| <= bound is computed (cells outside it exceed
 * the bound anyway), and it stops as soon as a whole row does.
 */
export function editDistance(a: string, b: string, bound: number): number {
  if (Math.abs(a.length - b.length) > bound) return bound + 1;
  const over = bound + 1;
  const width = b.length;
  if (rowA.length <= width + 1) {
    rowA = new Uint32Array(width + 2);
    rowB = new Uint32Array(width + 2);
  }
  let previous = rowA;
  let current = rowB;
  for (let j = 0; j <= width; j++) previous[j] = j <= bound ? j : over;
  for (let i = 1; i <= a.length; i++) {
    const low = Math.max(1, i - bound);
    const high = Math.min(width, i + bound);
    const letter = a.charCodeAt(i - 1);
    let left = low === 1 ? i : over;
    current[low - 1] = left;
    let diagonal = previous[low - 1] as number;
    let rowMin = left;
    for (let j = low; j <= high; j++) {
      const up = previous[j] as number;
      let value = diagonal + (letter === b.charCodeAt(j - 1) ? 0 : 1);
      if (up + 1 < value) value = up + 1;
      if (left + 1 < value) value = left + 1;
      if (value > over) value = over;
      current[j] = value;
      if (value < rowMin) rowMin = value;
      diagonal = up;
      left = value;
    }
    // The next row reads one cell further right, outside this row's band.
    if (high < width) current[high + 1] = over;
    if (rowMin > bound) return over;
    [previous, current] = [current, previous];
  }
  return Math.min(previous[width] as number, over);
}
