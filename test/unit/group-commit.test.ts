import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../src/storage/group-commit.ts';

describe('group commit', () => {
  it('commits writes that arrive together in one batch, and each caller learns its own outcome', async () => {
    const commits: number[][] = [];
    const group = new GroupCommit<number>(
      async (items) => {
        commits.push(items);
        if (items.includes(3)) throw new Error('3 is bad');
      },
      { windowMs: 10_000, maxBatch: 5 },
    );
    // Five fill a batch: committed at once, no waiting for the window.
    const outcomes = await Promise.allSettled([1, 2, 3, 4, 5].map((item) => group.add(item)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    // The batch failed as a whole, then each went alone.
    expect(commits).toEqual([[1, 2, 3, 4, 5], [1], [2], [3], [4], [5]]);
  });

  it('commits a lone write when its window closes, and at once with no window', async () => {
    const commits: string[][] = [];
    const windowed = new GroupCommit<string>(async (items) => void commits.push(items), { windowMs: 5, maxBatch: 64 });
    await Promise.all([windowed.add('a'), windowed.add('b')]);
    const immediate = new GroupCommit<string>(async (items) => void commits.push(items), { windowMs: 0, maxBatch: 64 });
    await Promise.all([immediate.add('c'), immediate.add('d')]);
    expect(commits).toEqual([['a', 'b'], ['c'], ['d']]);
  });
});
