import { describe, expect, it } from 'vitest';
import type { ModelServer, ServerModel } from '../../src/domain/model-server.ts';
import { DeploymentState, type Deployment } from '../../src/data/routing/deployment.ts';
import { pickDeployment } from '../../src/data/routing/deployment-picker.ts';
import { PrefixAffinity, type AffinityResult } from '../../src/data/routing/prefix-affinity.ts';
import { promptBlocks } from '../../src/data/routing/prompt-blocks.ts';

function deployment(name: string): Deployment {
  return {
    key: name,
    server: { name, isActive: true, healthStatus: 'online', statusReason: null } as ModelServer,
    model: { modelId: 'm', status: 'loaded', details: {} } as ServerModel,
    state: new DeploymentState(3, 1_000),
    reportedQueue: 0,
    capacity: null,
  };
}

const settings = { blockChars: 16, maxBlocks: 1_000, loadFactor: 1.5, tableEntries: 10_000 };
const system = { role: 'system', content: 'You are a careful assistant who answers briefly.' };

/** Turn n of a conversation: its opening, then n earlier exchanges, then a new question. */
function turn(conversation: string, n: number): Record<string, unknown> {
  const messages: Array<Record<string, unknown>> = [system, { role: 'user', content: `${conversation}: tell me about topic zero` }];
  for (let index = 1; index <= n; index++) messages.push({ role: 'assistant', content: `answer ${index - 1} for ${conversation}, at some length` }, { role: 'user', content: `and now topic ${index}?` });
  return { model: 'm', messages };
}

function route(affinity: PrefixAffinity, body: Record<string, unknown>, fleet: Deployment[]) {
  const request = affinity.forRequest(body, 'm');
  const chosen = pickDeployment(fleet, { strategy: 'prefix-affinity', now: 0, exclude: new Set(), affinity: request, random: () => 0 });
  if (chosen === null || request === null) throw new Error('nothing chosen');
  return { deployment: chosen.key, reason: request.sentTo(chosen) };
}

describe('prompt blocks', () => {
  it('share chain hashes exactly as far as two prompts share a prefix, and keep the opening across turns', () => {
    const first = promptBlocks(turn('alpha', 1), 'm', settings);
    const later = promptBlocks(turn('alpha', 3), 'm', settings);
    const other = promptBlocks(turn('beta', 3), 'm', settings);
    if (first === null || later === null || other === null) throw new Error('no blocks');
    expect(later.chain.slice(0, first.chain.length)).toEqual(first.chain);
    expect(later.chain.length).toBeGreaterThan(first.chain.length);
    expect(later.anchor).toBe(first.anchor);
    expect(other.anchor).not.toBe(first.anchor);
    // The shared system prompt gives shared leading blocks, then the conversations part.
    const shared = other.chain.findIndex((hash, index) => hash !== later.chain[index]);
    expect(shared).toBeGreaterThanOrEqual(2);
    expect(shared).toBeLessThanOrEqual(first.openingBlocks);
  });

  it('differ by model (seed), and are none for a request without a prompt', () => {
    expect(promptBlocks(turn('alpha', 1), 'm', settings)?.chain[0]).not.toBe(promptBlocks(turn('alpha', 1), 'other', settings)?.chain[0]);
    expect(promptBlocks({ input: ['embed me'] }, 'm', settings)).toBeNull();
    expect(promptBlocks({ messages: [] }, 'm', settings)).toBeNull();
    expect(promptBlocks({ prompt: 'x'.repeat(40) }, 'm', settings)?.chain).toHaveLength(2);
  });

  it('stop at the block limit', () => {
    expect(promptBlocks({ prompt: 'y'.repeat(16 * 50) }, 'm', { ...settings, maxBlocks: 8 })?.chain).toHaveLength(8);
  });
});

describe('prefix-affinity routing', () => {
  it('keeps every turn of a conversation on one deployment and says how much of the prompt matched', () => {
    const affinity = new PrefixAffinity(settings);
    const fleet = ['gpu-1', 'gpu-2', 'gpu-3', 'gpu-4'].map(deployment);
    const first = route(affinity, turn('alpha', 0), fleet);
    expect(first.reason).toMatch(/^prefix-affinity: new prefix \(\d+ blocks\), placed on gpu-\d by hash$/);
    for (let n = 1; n < 6; n++) {
      const next = route(affinity, turn('alpha', n), fleet);
      expect(next.deployment).toBe(first.deployment);
      expect(next.reason).toMatch(new RegExp(`^prefix-affinity: (\\d+) of (\\d+) blocks matched on ${first.deployment}$`));
    }
  });

  it('spreads conversations over the deployments, and agrees across gateways that share nothing', () => {
    const fleet = ['gpu-1', 'gpu-2', 'gpu-3', 'gpu-4'].map(deployment);
    const here = new PrefixAffinity(settings);
    const there = new PrefixAffinity(settings);
    const placed = new Map<string, number>();
    for (let index = 0; index < 40; index++) {
      const one = route(here, turn(`c${index}`, 0), fleet).deployment;
      expect(route(there, turn(`c${index}`, 0), fleet).deployment).toBe(one);
      placed.set(one, (placed.get(one) ?? 0) + 1);
    }
    expect(placed.size).toBe(4);
    // A second gateway that never saw turn 1 sends turn 4 where the first gateway sent the whole conversation.
    const fresh = new PrefixAffinity(settings);
    expect(route(fresh, turn('c7', 4), fleet).deployment).toBe(route(here, turn('c7', 4), fleet).deployment);
  });

  it('passes over a deployment above its load bound, and one that went away, for the least loaded', () => {
    const counted: AffinityResult[] = [];
    const affinity = new PrefixAffinity(settings, (result) => counted.push(result));
    const fleet = ['gpu-1', 'gpu-2', 'gpu-3'].map(deployment);
    const home = route(affinity, turn('alpha', 1), fleet).deployment;
    const homeDeployment = fleet.find((candidate) => candidate.key === home) as Deployment;
    // 6 in flight there, 0 elsewhere: the bound is ceil(1.5 × 7 / 3) = 4.
    homeDeployment.state.inflight = 6;
    const spilled = route(affinity, turn('alpha', 2), fleet);
    expect(spilled.deployment).not.toBe(home);
    expect(spilled.reason).toMatch(new RegExp(`matched on ${home}, which is over its load bound; least-loaded ${spilled.deployment}$`));
    homeDeployment.state.inflight = 0;
    // The conversation's latest turn went to the other deployment: that is where its prefix is now.
    expect(route(affinity, turn('alpha', 3), fleet).deployment).toBe(spilled.deployment);
    const survivors = fleet.filter((candidate) => candidate.key !== spilled.deployment);
    const moved = route(affinity, turn('alpha', 4), survivors);
    expect(moved.reason).toMatch(new RegExp(`matched on ${spilled.deployment}, which is unavailable; least-loaded ${moved.deployment}$`));
    expect(counted).toEqual(['miss', 'overloaded', 'hit', 'unavailable']);
  });

  it('follows a first turn that bounded load moved off its hash choice, instead of going back to a cold server', () => {
    const affinity = new PrefixAffinity(settings);
    const fleet = ['gpu-1', 'gpu-2', 'gpu-3'].map(deployment);
    const choice = route(new PrefixAffinity(settings), turn('alpha', 0), fleet).deployment;
    const chosen = fleet.find((candidate) => candidate.key === choice) as Deployment;
    chosen.state.inflight = 6;
    const first = route(affinity, turn('alpha', 0), fleet);
    expect(first.deployment).not.toBe(choice);
    expect(first.reason).toMatch(new RegExp(`${choice} over its load bound; next by hash ${first.deployment}$`));
    chosen.state.inflight = 0;
    const second = route(affinity, turn('alpha', 1), fleet);
    expect(second.deployment).toBe(first.deployment);
    expect(second.reason).toMatch(/blocks matched on/);
  });

  it('treats a deployment at its capacity as full even under the bound', () => {
    const affinity = new PrefixAffinity(settings);
    const fleet = ['gpu-1', 'gpu-2'].map(deployment);
    const home = route(affinity, turn('alpha', 1), fleet).deployment;
    const homeDeployment = fleet.find((candidate) => candidate.key === home) as Deployment;
    homeDeployment.capacity = 1;
    homeDeployment.state.inflight = 1;
    expect(route(affinity, turn('alpha', 2), fleet).deployment).not.toBe(home);
  });

  it('forgets the oldest prefixes past its table size', () => {
    const affinity = new PrefixAffinity({ ...settings, tableEntries: 1_000 });
    const fleet = ['gpu-1', 'gpu-2'].map(deployment);
    for (let index = 0; index < 200; index++) route(affinity, turn(`c${index}`, 3), fleet);
    expect(affinity.size).toBe(1_000);
  });
});
