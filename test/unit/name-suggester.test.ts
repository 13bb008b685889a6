import { describe, expect, it } from 'vitest';
import { closeNames, editDistance, NameSuggester } from '../../src/data/routing/name-suggester.ts';

// 20,000 names shaped like a big fleet's: families, sizes, tags, quantisations, many sharing most of their letters.
function fleetNames(count: number): string[] {
  const families = ['llama3.1', 'qwen2.5', 'mistral', 'gemma2', 'phi3', 'deepseek-coder', 'codellama', 'nomic-embed-text'];
  const names: string[] = [];
  for (let index = 0; names.length < count; index++) {
    const family = families[index % families.length] as string;
    names.push(`${family}-${index}b-instruct-q${index % 8}_k_m:latest`);
  }
  return names;
}

describe('model name suggestions', () => {
  it('suggests known models near a mistyped name', () => {
    expect(closeNames('mixtrall', ['mixtral', 'mixtral:latest', 'phi3', 'yi34b'])).toEqual(['mixtral']);
    expect(closeNames('zzzzzzzzzz', ['phi3'])).toEqual([]);
    expect(closeNames('llama', ['llama3:8b', 'phi3'])).toEqual(['llama3:8b']);
    expect(closeNames('PHI-3', ['phi3', 'Phi-3-mini'])).toEqual(['phi3', 'Phi-3-mini']);
  });

  it('finds the near miss among 20,000 names while comparing at most 32 of them', () => {
    const suggester = new NameSuggester([...fleetNames(20_000), 'mixtral-8x7b-instruct', 'yi-34b-chat']);
    expect(suggester.size).toBe(20_002);
    expect(suggester.suggest('mixtral-8x7b-instruc')).toEqual(['mixtral-8x7b-instruct']);
    expect(suggester.lastCost.compared).toBeLessThanOrEqual(32);
    expect(suggester.suggest('yi-34b-chta')[0]).toBe('yi-34b-chat');
    expect(suggester.suggest('qwen2.5-1233b-instruct-q1_k_m:lates')[0]).toBe('qwen2.5-1233b-instruct-q1_k_m:latest');
    expect(suggester.lastCost.compared).toBeLessThanOrEqual(32);
  });

  it('bounds the work for a name that shares its letters with every known name', () => {
    const suggester = new NameSuggester(fleetNames(20_000));
    for (const wanted of ['instruct:latest', 'q4_k_m:latest', 'llama3.1-instruct', 'a'.repeat(128)]) {
      suggester.suggest(wanted);
      expect(suggester.lastCost.postingsVisited).toBeLessThanOrEqual(2_048);
      expect(suggester.lastCost.compared).toBeLessThanOrEqual(32);
    }
    // A name longer than any model's is not a typo: no work at all.
    expect(suggester.suggest('x'.repeat(100_000))).toEqual([]);
    expect(suggester.lastCost).toEqual({ postingsVisited: 0, compared: 0 });
  });

  it('never suggests a name the caller may not use', () => {
    const suggester = new NameSuggester(['mixtral', 'mixtrel']);
    expect(suggester.suggest('mixtrl', { isAllowed: (name) => name !== 'mixtral' })).toEqual(['mixtrel']);
    expect(suggester.suggest('mixtrl', { isAllowed: () => false, extra: ['mixtrol'] })).toEqual([]);
    // Route names come in as extras and rank with the models.
    expect(suggester.suggest('mixtrl', { extra: ['mixtrol'] })).toEqual(['mixtral', 'mixtrel', 'mixtrol']);
  });

  it('forgets a removed name', () => {
    const suggester = new NameSuggester(['mixtral', 'phi3']);
    suggester.remove('mixtral');
    expect(suggester.suggest('mixtrall')).toEqual([]);
    expect(suggester.size).toBe(1);
  });

  it('measures edit distance and stops once it exceeds the bound', () => {
    expect(editDistance('kitten', 'sitting', 10)).toBe(3);
    expect(editDistance('abc', 'abc', 0)).toBe(0);
    expect(editDistance('abcdef', 'uvwxyz', 2)).toBe(3);
    expect(editDistance('a', 'abcdef', 2)).toBe(3);
  });
});

describe('bounded edit distance', () => {
  function naive(a: string, b: string): number {
    let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
    for (let i = 1; i <= a.length; i++) {
      const current = [i];
      for (let j = 1; j <= b.length; j++) current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
    return previous[b.length] as number;
  }

  it('agrees with the full computation within the bound and says "over" beyond it', () => {
    // A fixed pseudo-random sequence: reproducible, and many shapes of near and far pairs.
    let seed = 42;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const word = () => Array.from({ length: Math.floor(next() * 14) }, () => 'abcd'[Math.floor(next() * 4)]).join('');
    for (let round = 0; round < 3_000; round++) {
      const a = word();
      const b = next() < 0.5 ? word() : a.slice(0, Math.floor(next() * a.length)) + word().slice(0, 2) + a.slice(Math.floor(next() * a.length));
      const bound = Math.floor(next() * 6);
      const exact = naive(a, b);
      expect(editDistance(a, b, bound), `${a} / ${b} within ${bound}`).toBe(exact <= bound ? exact : bound + 1);
    }
  });
});
