import { describe, expect, it } from 'vitest';
import type { ModelServer, ServerModel } from '../../src/domain/model-server.ts';
import { DeploymentState, type Deployment } from '../../src/data/routing/deployment.ts';
import { pickDeployment } from '../../src/data/routing/deployment-picker.ts';

function deployment(name: string, server: Partial<ModelServer> = {}): Deployment {
  return {
    key: name,
    server: { name, isActive: true, healthStatus: 'online', statusReason: null, ...server } as ModelServer,
    model: { modelId: 'm', status: 'loaded', details: {} } as ServerModel,
    state: new DeploymentState(3, 1_000),
    reportedQueue: 0,
    capacity: null,
  };
}

const fleet = (count: number) => Array.from({ length: count }, (_, index) => deployment(`d${index}`));
const none = new Set<string>();

describe('least-inflight on a model with hundreds of deployments', () => {
  it('compares a window of eight and takes the least loaded in it', () => {
    const deployments = fleet(200);
    for (const [index, entry] of deployments.entries()) entry.state.inflight = index < 8 ? 8 - index : 0;
    // random() = 0: the window is d0..d7; d7 carries the least (1) of them, though d8.. carry none.
    expect(pickDeployment(deployments, { strategy: 'least-inflight', now: 0, exclude: none, random: () => 0 })?.key).toBe('d7');
  });

  it('spreads load: after many decisions no deployment carries far more than its share', () => {
    const deployments = fleet(200);
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    for (let request = 0; request < 2_000; request++) {
      const chosen = pickDeployment(deployments, { strategy: 'least-inflight', now: 0, exclude: none, random });
      if (chosen === null) throw new Error('nothing chosen');
      chosen.state.inflight++;
    }
    const loads = deployments.map((entry) => entry.state.inflight);
    // 10 each on average; a random choice would leave some with 20 or more.
    expect(Math.max(...loads)).toBeLessThanOrEqual(12);
    expect(Math.min(...loads)).toBeGreaterThanOrEqual(8);
  });

  it('still finds the one deployment that can take traffic when the window has none', () => {
    const deployments = fleet(200).map((entry, index) => (index === 150 ? entry : deployment(entry.key, { healthStatus: 'offline' })));
    expect(pickDeployment(deployments, { strategy: 'least-inflight', now: 0, exclude: none, random: () => 0 })?.key).toBe('d150');
    const sick = fleet(200);
    for (const entry of sick.slice(0, 8)) for (let failure = 0; failure < 3; failure++) entry.state.breaker.onFailure(0);
    // The window d0..d7 is all open circuits: the others are looked at rather than a sick one tried.
    expect(pickDeployment(sick, { strategy: 'least-inflight', now: 0, exclude: none, random: () => 0 })?.key).not.toMatch(/^d[0-7]$/);
  });
});
