import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { CircuitState } from '../../src/data/routing/circuit-breaker.ts';
import type { DeploymentReading } from '../../src/observability/deployment-gauges.ts';
import { GatewayMetrics } from '../../src/observability/gateway-metrics.ts';

function reading(server: string, model: string, inflight = 0, state: CircuitState = 'closed', capacity: number | null = null): DeploymentReading {
  return { key: `${server}/${model}`, server: { name: server }, model: { modelId: model }, state: { inflight, breaker: { state } }, capacity };
}

async function series(registry: Registry, name: string): Promise<Array<{ labels: Record<string, string | number>; value: number }>> {
  const metric = (await registry.getMetricsAsJSON()).find((entry) => entry.name === name);
  return (metric?.values ?? []).map((entry) => ({ labels: entry.labels as Record<string, string | number>, value: entry.value }));
}

describe('deployment gauges', () => {
  it('report circuit state per deployment and in-flight per model, following renames and removals', async () => {
    const registry = new Registry();
    let deployments: DeploymentReading[] = [reading('gpu-0', 'llama3', 2), reading('gpu-1', 'llama3', 1, 'open'), reading('gpu-1', 'phi3')];
    new GatewayMetrics(registry, { deployments: () => deployments });
    expect(await series(registry, 'llm_circuit_state')).toEqual(
      expect.arrayContaining([
        { labels: { server: 'gpu-0', model: 'llama3' }, value: 0 },
        { labels: { server: 'gpu-1', model: 'llama3' }, value: 1 },
        { labels: { server: 'gpu-1', model: 'phi3' }, value: 0 },
      ]),
    );
    expect(await series(registry, 'llm_concurrent_requests')).toEqual(expect.arrayContaining([{ labels: { model: 'llama3' }, value: 3 }, { labels: { model: 'phi3' }, value: 0 }]));

    // gpu-1 renamed gpu-9 and its circuit half-open; phi3 gone; gpu-0 idle.
    deployments = [{ ...reading('gpu-0', 'llama3', 0) }, { ...reading('gpu-9', 'llama3', 0, 'half-open'), key: 'gpu-1/llama3' }];
    const circuits = await series(registry, 'llm_circuit_state');
    expect(circuits).toHaveLength(2);
    expect(circuits).toEqual(expect.arrayContaining([{ labels: { server: 'gpu-0', model: 'llama3' }, value: 0 }, { labels: { server: 'gpu-9', model: 'llama3' }, value: 2 }]));
    expect(await series(registry, 'llm_concurrent_requests')).toEqual([{ labels: { model: 'llama3' }, value: 0 }]);
  });

  it('report each deployment\'s capacity where it is known, and drop the series when it stops being known', async () => {
    const registry = new Registry();
    let deployments: DeploymentReading[] = [reading('gpu-0', 'llama3', 0, 'closed', 4), reading('gpu-1', 'llama3', 0, 'closed', null), reading('tei', 'bge', 0, 'closed', 512)];
    new GatewayMetrics(registry, { deployments: () => deployments });
    expect(await series(registry, 'llm_deployment_capacity')).toEqual(expect.arrayContaining([{ labels: { server: 'gpu-0', model: 'llama3' }, value: 4 }, { labels: { server: 'tei', model: 'bge' }, value: 512 }]));
    expect(await series(registry, 'llm_deployment_capacity')).toHaveLength(2);
    // gpu-0's stated value is cleared (back to unknown), gpu-1 learns 8, tei is removed.
    deployments = [reading('gpu-0', 'llama3', 0, 'closed', null), reading('gpu-1', 'llama3', 0, 'closed', 8)];
    expect(await series(registry, 'llm_deployment_capacity')).toEqual([{ labels: { server: 'gpu-1', model: 'llama3' }, value: 8 }]);
  });
});
