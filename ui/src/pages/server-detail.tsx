import { useEffect, useState } from 'react';
import { api, canChange, isManagedByFleetFile, type ServerModel, type ServerRecord, type Session } from '../api.ts';
import { LineChart } from '../components/charts.tsx';
import { ErrorNote } from '../components/modal.tsx';
import { ServerForm } from './server-form.tsx';
import { probeLatency } from './servers-page.tsx';
import { testConnection } from './server-test.ts';
import { ManagedBadge } from '../components/managed-badge.tsx';
import { QueuePanel } from '../components/queue-panel.tsx';

interface Health {
  history: Array<{ checked_at: string; health_status: string; latency_ms: number | null; error: string | null }>;
  transitions: Array<{ at: string; from: string; to: string; message: string | null }>;
}

interface Metrics {
  history: Array<{ recorded_at: string; running_requests: number | null; waiting_requests: number | null; kv_cache_usage: number | null }>;
}

/** One server: its models, its health over time, its load; edit it (unless the fleet file manages it) and test it. */
export function ServerDetail(props: { id: string; session: Session; back: () => void }) {
  const [server, setServer] = useState<ServerRecord | null>(null);
  const [models, setModels] = useState<ServerModel[]>([]);
  const [health, setHealth] = useState<Health | null>(null);
  const [metrics, setMetrics] = useState<Metrics | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const [testing, setTesting] = useState(false);
  const [tested, setTested] = useState<{ ok: boolean; text: string } | null>(null);
  useEffect(() => {
    const load = () =>
      Promise.all([
        api<ServerRecord>('GET', `/api/v1/model-servers/${props.id}`),
        api<{ data: ServerModel[] }>('GET', `/api/v1/model-servers/${props.id}/models`),
        api<Health>('GET', `/api/v1/model-servers/${props.id}/health?limit=100`),
        api<Metrics>('GET', `/api/v1/model-servers/${props.id}/metrics?limit=100`),
      ]).then(
        ([record, list, healthAnswer, metricsAnswer]) => {
          setServer(record);
          setModels(list.data);
          setHealth(healthAnswer);
          setMetrics(metricsAnswer);
        },
        (caught: unknown) => setError(caught instanceof Error ? caught.message : 'Could not load this server.'),
      );
    void load();
    // Every probe of this server (and every change to it) is an event: its models' state, health and load follow without a reload.
    const events = new EventSource('/api/v1/events');
    events.addEventListener('server', (event) => {
      if ((JSON.parse((event as MessageEvent<string>).data) as { server: { id: string } }).server.id === props.id) void load();
    });
    return () => events.close();
  }, [props.id]);
  const test = async () => {
    if (server === null) return;
    setTesting(true);
    setTested(null);
    setTested(await testConnection(server));
    setTesting(false);
    // The test updated the server's last probe time and latency.
    api<ServerRecord>('GET', `/api/v1/model-servers/${server.id}`).then(setServer, () => undefined);
  };
  const writable = canChange(props.session);
  const managed = server !== null && isManagedByFleetFile(server);
  const samples = [...(metrics?.history ?? [])].reverse();
  const checks = [...(health?.history ?? [])].reverse();
  return (
    <section>
      <button className="link" onClick={props.back}>
        ← All servers
      </button>
      <ErrorNote error={error} />
      {server !== null && (
        <>
          <header className="page-header">
            <h1>
              <span className={`dot ${server.health_status}`} /> {server.name} <span className="badge">{server.server_type}</span>
              {managed && <ManagedBadge />}
            </h1>
            {writable && (
              <div className="actions">
                <button onClick={() => void test()} disabled={testing}>
                  {testing ? 'Testing…' : 'Test'}
                </button>
                {!managed && (
                  <button className="primary" onClick={() => setEditing(true)}>
                    Edit
                  </button>
                )}
              </div>
            )}
          </header>
          <p className="muted url">
            {server.base_url} · {server.health_status}
            {server.status_message !== null ? ` · ${server.status_message}` : ''} · last probe <span data-testid="probe-latency">{probeLatency(server)}</span>
          </p>
          <PrefixCache server={server} />
          {managed && <p className="muted small">The fleet file declares this server: change it there; the gateway applies the file at start.</p>}
          {tested !== null && (
            <p className={tested.ok ? 'notice' : 'notice error'} role="status" data-testid="test-result">
              {tested.text}
            </p>
          )}
          <h2>Models</h2>
          {models.length === 0 ? (
            <p className="empty">No models discovered yet. They appear after the first successful health check.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>Model</th>
                  <th>Capabilities</th>
                  <th>Embedding size</th>
                  <th>Batch limits</th>
                  <th>Context</th>
                  <th>State</th>
                </tr>
              </thead>
              <tbody>
                {models.map((model) => (
                  <tr key={model.id}>
                    <td>{model.id}</td>
                    <td>
                      {model.capabilities.join(', ')}
                      {model.can_embed && !model.capabilities.includes('embedding') && <span className="muted small" title="The server embeds with this model too (Ollama's /api/embed): it may own a vector collection."> · embeds too</span>}
                    </td>
                    <td>{model.embedding_dimension ?? '—'}</td>
                    <td data-testid="batch-limits">{batchLimits(model.details)}</td>
                    <td>{model.context_length ?? '—'}</td>
                    <td data-testid="model-state">
                      {model.status}
                      <OutOfRotation details={model.details} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <QueuePanel models={models.map((model) => model.id)} />
          <h2>Health</h2>
          <div className="timeline" aria-label="health timeline">
            {checks.map((check) => (
              <span key={check.checked_at} className={`tick ${check.health_status}`} title={`${check.checked_at}: ${check.health_status}${check.error === null ? '' : ` (${check.error})`}`} />
            ))}
          </div>
          <ul className="transitions">
            {health?.transitions.map((transition) => (
              <li key={transition.at}>
                {new Date(transition.at).toLocaleString()}: {transition.from} → <strong>{transition.to}</strong>
                {transition.message === null ? '' : ` (${transition.message})`}
              </li>
            ))}
          </ul>
          <LineChart title="Probe latency (ms)" xLabel="time of check" yLabel="latency (ms)" unit=" ms" labels={checks.map((check) => new Date(check.checked_at).toLocaleTimeString())} series={[{ label: 'latency', color: '#2563eb', points: checks.map((check) => check.latency_ms) }]} />
          {samples.length > 0 && (
            <LineChart
              title="Load"
              xLabel="time of sample"
              yLabel="requests"
              labels={samples.map((sample) => new Date(sample.recorded_at).toLocaleTimeString())}
              series={[
                { label: 'running', color: '#16a34a', points: samples.map((sample) => sample.running_requests) },
                { label: 'waiting', color: '#d97706', points: samples.map((sample) => sample.waiting_requests) },
              ]}
            />
          )}
        </>
      )}
      {editing && server !== null && (
        <ServerForm
          server={server}
          onClose={() => setEditing(false)}
          onSaved={(saved) => {
            setServer(saved);
            setEditing(false);
          }}
        />
      )}
    </section>
  );
}

/**
 * How much of the prompts the server found in its prefix cache over its last
 * probe interval (vLLM): whether sending a conversation back to the same
 * server pays. Not shown for servers that report none, nor for an offline
 * one, whose last figures no longer hold.
 */
function PrefixCache({ server }: { server: ServerRecord }) {
  const ratio = server.health_status === 'offline' ? null : (server.load?.prefix_cache_hit_ratio ?? null);
  if (ratio === null) return null;
  return (
    <dl className="figures">
      <div>
        <dt>Prefix cache hit rate</dt>
        <dd data-testid="prefix-cache-hit-rate" title="Prompt tokens the server found in its prefix cache, of those it looked up, between its last two probes">
          {Math.round(ratio * 1000) / 10}%
        </dd>
      </div>
    </dl>
  );
}

/** TEI's batch limits from /info, as the embedding pipeline splits by them; '—' for servers that state none. */
/** Live traffic took this model out of rotation on this server (an embedding of the wrong size) until its next health check. */
function OutOfRotation({ details }: { details: Record<string, unknown> }) {
  const hold = details['out_of_rotation'] as { reason?: unknown; message?: unknown } | undefined;
  if (hold === undefined || hold === null) return null;
  return (
    <div>
      <span className="badge unresolved" title={typeof hold.message === 'string' ? hold.message : ''}>
        out of rotation: {String(hold.reason ?? 'unknown').replace('_', ' ')}
      </span>
      {typeof hold.message === 'string' && <div className="muted small">{hold.message}</div>}
    </div>
  );
}

function batchLimits(details: Record<string, unknown>): string {
  const texts = details['max_client_batch_size'];
  const tokens = details['max_batch_tokens'];
  const parts = [typeof texts === 'number' ? `${texts} texts` : null, typeof tokens === 'number' ? `${tokens.toLocaleString('en')} tokens` : null].filter((part) => part !== null);
  return parts.length === 0 ? '—' : parts.join(' · ');
}
