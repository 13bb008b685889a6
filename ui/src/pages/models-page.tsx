import { useEffect, useState } from 'react';
import { api, canChange, type Session } from '../api.ts';
import { ErrorNote } from '../components/modal.tsx';
import { CacheBadge, useCachePolicies } from '../components/cache-badge.tsx';
import { InventoryMatrix } from './inventory-matrix.tsx';
import { PlacementsSection } from './placements-section.tsx';

interface RegistryEntry {
  id: string;
  /** The short names callers may use too (`mixtral` for `mixtral:latest`). */
  aliases?: string[];
  category: string;
  capabilities: string[];
  servers: Array<{ name: string; health_status: string; status: string }>;
  performance: { requests: number; rating: string; p50_latency_ms: number | null };
  benchmark: { created_at: string; summary: { p50_latency_ms: number | null; p50_ttft_ms: number | null; mean_tokens_per_second: number | null; succeeded: number; runs: number } } | null;
}

/** Every model across the fleet, where it lives, how it performs; benchmark on demand. */
export function ModelsPage(props: { session: Session }) {
  const [models, setModels] = useState<RegistryEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState<string | null>(null);
  const cachePolicies = useCachePolicies();
  const load = () => api<{ data: RegistryEntry[] }>('GET', '/api/v1/models/registry').then((answer) => setModels(answer.data), (caught: unknown) => setError(caught instanceof Error ? caught.message : 'Could not load models.'));
  useEffect(() => void load(), []);
  const benchmark = async (id: string) => {
    setRunning(id);
    setError(null);
    try {
      await api('POST', `/api/v1/models/${encodeURIComponent(id)}/benchmark`, { runs: 3, max_tokens: 32 });
      await load();
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : 'The benchmark failed.');
    } finally {
      setRunning(null);
    }
  };
  return (
    <section>
      <h1>Models</h1>
      <InventoryMatrix session={props.session} onChanged={() => void load()} />
      <PlacementsSection session={props.session} />
      <h2>Performance</h2>
      <ErrorNote error={error} />
      {models !== null && models.length === 0 && <p className="empty">No models discovered yet. Add a server and its models show up here.</p>}
      {models !== null && models.length > 0 && (
        <table aria-label="Model performance">
          <thead>
            <tr>
              <th>Model</th>
              <th>Category</th>
              <th>Capabilities</th>
              <th>Servers</th>
              <th>Rating (24 h)</th>
              <th>Benchmark</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {models.map((model) => (
              <tr key={model.id} data-testid={`performance-${model.id}`}>
                <td>
                  {model.id}
                  {/* A policy may name the model by its id or a short name; the first that has one is shown. */}
                  <CacheBadge policy={[model.id, ...(model.aliases ?? [])].map((name) => cachePolicies.get(name)).find((policy) => policy !== undefined)} />
                </td>
                <td>{model.category.replace('_', ' ')}</td>
                <td>{model.capabilities.join(', ')}</td>
                <td>{model.servers.map((server) => `${server.name} (${server.status})`).join(', ')}</td>
                <td>
                  {model.performance.rating.replace('_', ' ')} · {model.performance.requests} req
                </td>
                <td data-testid={`benchmark-${model.id}`}>
                  {model.benchmark === null
                    ? '—'
                    : `${model.benchmark.summary.succeeded}/${model.benchmark.summary.runs} ok · p50 ${model.benchmark.summary.p50_latency_ms ?? '—'} ms · TTFT ${model.benchmark.summary.p50_ttft_ms ?? '—'} ms · ${model.benchmark.summary.mean_tokens_per_second ?? '—'} tok/s`}
                </td>
                <td>
                  {canChange(props.session) && !model.capabilities.every((capability) => capability === 'rerank') && (
                    <button onClick={() => void benchmark(model.id)} disabled={running !== null}>
                      {running === model.id ? 'Running…' : 'Benchmark'}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
