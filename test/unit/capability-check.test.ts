import { describe, expect, it } from 'vitest';
import type { ModelServer, ServerModel } from '../../src/domain/model-server.ts';
import type { ModelCapability } from '../../src/domain/server-kind.ts';
import { DeploymentState, type Deployment } from '../../src/data/routing/deployment.ts';
import { cannotServe, capabilityRefusal } from '../../src/data/routing/capability-check.ts';
import type { CandidateGroup } from '../../src/data/routing/resolve-candidates.ts';

function deployment(serverType: string, capabilities: ModelCapability[], source: string | undefined): Deployment {
  return {
    key: `${serverType}/m`,
    server: { name: serverType, serverType, isActive: true, healthStatus: 'online', statusReason: null } as ModelServer,
    model: { modelId: 'm', status: 'loaded', capabilities, details: source === undefined ? {} : { capabilities_from: source } } as ServerModel,
    state: new DeploymentState(3, 1_000),
    reportedQueue: 0,
    capacity: null,
  };
}

const group = (...deployments: Deployment[]): CandidateGroup => ({ model: 'm', deployments, strategy: 'least-inflight', weights: null, defaulted: false });

describe('what a model is known not to serve', () => {
  it('refuses only on capabilities the server reported, the kind fixes or the operator declared', () => {
    for (const source of ['server', 'kind', 'declared']) expect(cannotServe(deployment('ollama', ['embedding'], source), 'chat')).toBe(true);
    expect(cannotServe(deployment('ollama', ['chat', 'completion'], 'server'), 'chat')).toBe(false);
  });

  it('lets a guess from the name through, except on vLLM, which runs one task per model', () => {
    expect(cannotServe(deployment('openai', ['chat', 'completion'], 'name'), 'embeddings')).toBe(false);
    expect(cannotServe(deployment('llamacpp', ['chat', 'completion'], 'name'), 'embeddings')).toBe(false);
    expect(cannotServe(deployment('vllm', ['chat', 'completion'], 'name'), 'embeddings')).toBe(true);
  });

  it('lets a model stored before its source was recorded through until it is probed again', () => {
    expect(cannotServe(deployment('ollama', ['embedding'], undefined), 'chat')).toBe(false);
  });

  it('refuses a name only when no deployment of any group can or might serve it, naming what they serve', () => {
    const embedder = deployment('embedding', ['embedding'], 'kind');
    expect(capabilityRefusal('m', 'chat', [group(embedder), group(deployment('openai', ['chat'], 'name'))])).toBeNull();
    expect(capabilityRefusal('m', 'chat', [group(embedder), group(deployment('reranker', ['rerank'], 'kind'))])?.message).toBe('The model `m` serves embedding and rerank only, not chat.');
    expect(capabilityRefusal('m', 'chat', [group()])).toBeNull();
  });
});
