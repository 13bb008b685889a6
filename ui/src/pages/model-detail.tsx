import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, canChange, messageOf, type Session } from '../api.ts';
import { ErrorNote } from '../components/modal.tsx';
import type { PlacementRecord } from './placements-section.tsx';
import { ModelStatusSection } from './model-status-section.tsx';
import { QueuePanel } from '../components/queue-panel.tsx';

interface Daily {
  day: string;
  requests: number;
  errors: number;
  error_rate: number | null;
  p50_latency_ms: number | null;
  p95_latency_ms: number | null;
  p50_ttft_ms: number | null;
  p95_ttft_ms: number | null;
  tokens_per_s: number | null;
}

interface Breach {
  metric: string;
  limit: number;
  actual: number;
}

interface Thresholds {
  p95_latency_ms?: number;
  p95_ttft_ms?: number;
  min_tokens_per_s?: number;
  max_error_rate?: number;
  violation: Breach[] | null;
  violated_since: string | null;
  managed_by: 'fleet_file' | null;
}

interface Versions {
  model: string;
  active: boolean;
  thresholds: Thresholds | null;
  data: Array<{ version: string; first_seen_at: string; last_seen_at: string; current: boolean; servers: Array<{ name: string; current: boolean }>; daily: Daily[] }>;
}

const fields = [
  ['p95_latency_ms', 'p95 latency (ms)'],
  ['p95_ttft_ms', 'p95 time to first token (ms)'],
  ['min_tokens_per_s', 'Minimum tokens/s'],
  ['max_error_rate', 'Maximum error rate (0-1)'],
] as const;

const show = (value: number | null) => (value === null ? '—' : String(value));
const shortVersion = (version: string) => (/^[0-9a-f]{64}$/.test(version) ? version.slice(0, 12) : version);

/** One model: its versions with daily figures, its thresholds and any violation, and whether it is served at all. */
export function ModelDetail(props: { id: string; session: Session; back: () => void }) {
  const model = decodeURIComponent(props.id);
  const base = `/api/v1/models/${encodeURIComponent(model)}`;
  const [versions, setVersions] = useState<Versions | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [limits, setLimits] = useState<Record<string, string>>({});
  const [placement, setPlacement] = useState<PlacementRecord | null>(null);
  const admin = canChange(props.session);
  const load = async () => {
    try {
      const answer = await api<Versions>('GET', `${base}/versions`);
      setVersions(answer);
      setLimits(Object.fromEntries(fields.map(([name]) => [name, answer.thresholds?.[name] === undefined ? '' : String(answer.thresholds[name])])));
    } catch (caught) {
      setError(caught instanceof ApiError && caught.status === 404 ? `No server has listed ${model} yet.` : messageOf(caught, 'Could not load the model.'));
    }
  };
  useEffect(() => {
    void load();
    // Placements are keyed by the name they were given: the id, or the short name it answers to.
    const names = [model, ...(model.endsWith(':latest') ? [model.slice(0, -':latest'.length)] : [])];
    void api<{ data: PlacementRecord[] }>('GET', '/api/v1/placements').then((answer) => setPlacement(answer.data.find((entry) => names.includes(entry.model)) ?? null), () => undefined);
  }, [model]);
  const act = async (run: () => Promise<unknown>, failure: string) => {
    setError(null);
    try {
      await run();
      await load();
    } catch (caught) {
      setError(messageOf(caught, failure));
    }
  };
  const saveThresholds = (event: FormEvent) => {
    event.preventDefault();
    const body = Object.fromEntries(Object.entries(limits).filter(([, value]) => value.trim() !== '').map(([name, value]) => [name, Number(value)]));
    void act(() => api('PUT', `${base}/thresholds`, body), 'Could not save the thresholds.');
  };
  const violation = versions?.thresholds?.violation ?? null;
  return (
    <section>
      <button className="link" onClick={props.back}>
        ← Models
      </button>
      <h1>
        {model} {versions !== null && <span className={`badge ${versions.active ? 'status-succeeded' : 'status-failed'}`}>{versions.active ? 'active' : 'inactive'}</span>}
      </h1>
      <ErrorNote error={error} />
      {violation !== null && (
        <p className="error" role="alert" data-testid="threshold-violation">
          Over its thresholds since {new Date(versions?.thresholds?.violated_since ?? '').toLocaleString()}:{' '}
          {violation.map((breach) => `${breach.metric} ${breach.actual} (limit ${breach.limit})`).join(', ')}
        </p>
      )}
      {versions !== null && admin && (
        <p>
          {versions.active ? (
            <button onClick={() => window.confirm(`Stop routing requests to ${model}? It stays listed.`) && void act(() => api('POST', `${base}/deactivate`), 'Could not deactivate.')}>Deactivate</button>
          ) : (
            <button className="primary" onClick={() => void act(() => api('POST', `${base}/activate`), 'Could not activate.')}>
              Activate
            </button>
          )}
        </p>
      )}
      <ModelStatusSection model={model} />
      <QueuePanel models={[model]} />
      {versions !== null && (
        <>
          <h2>Versions</h2>
          <table aria-label="Versions">
            <thead>
              <tr>
                <th>Version</th>
                <th>First seen</th>
                <th>Last seen</th>
                <th>Servers</th>
                <th>Day</th>
                <th>Requests</th>
                <th>p50 / p95 latency</th>
                <th>p95 TTFT</th>
                <th>Tokens/s</th>
                <th>Errors</th>
              </tr>
            </thead>
            <tbody>
              {versions.data.flatMap((version) => {
                const days = version.daily.length === 0 ? [null] : version.daily;
                return days.map((day, index) => (
                  <tr key={`${version.version}-${day?.day ?? 'none'}`} data-testid={index === 0 ? `version-${shortVersion(version.version)}` : undefined}>
                    {index === 0 && (
                      <>
                        <td rowSpan={days.length}>
                          <code>{shortVersion(version.version)}</code> {version.current && <span className="badge status-running">current</span>}
                        </td>
                        <td rowSpan={days.length}>{new Date(version.first_seen_at).toLocaleString()}</td>
                        <td rowSpan={days.length}>{new Date(version.last_seen_at).toLocaleString()}</td>
                        <td rowSpan={days.length}>{version.servers.map((server) => `${server.name}${server.current ? '' : ' (before)'}`).join(', ')}</td>
                      </>
                    )}
                    <td>{day?.day ?? '—'}</td>
                    <td>{day === null ? '—' : day.requests}</td>
                    <td>{day === null ? '—' : `${show(day.p50_latency_ms)} / ${show(day.p95_latency_ms)} ms`}</td>
                    <td>{day === null ? '—' : `${show(day.p95_ttft_ms)} ms`}</td>
                    <td>{day === null ? '—' : show(day.tokens_per_s)}</td>
                    <td>{day === null || day.error_rate === null ? '—' : `${(day.error_rate * 100).toFixed(1)}%`}</td>
                  </tr>
                ));
              })}
            </tbody>
          </table>
          <h2>Placement</h2>
          <p data-testid="model-placement">
            {placement === null ? (
              <span className="muted">No placement: Switchyard pulls or warms it nowhere by itself. Add one on the <a href="#/models">Models</a> page.</span>
            ) : (
              <>
                {placement.servers === null ? `Pulled on ${placement.pulled_on}` : `On ${placement.servers.join(', ')}`}, warm on {placement.warm_on}: <span className={`badge placement-${placement.status}`}>{placement.status}</span> held on {placement.held_on.join(', ') || 'none'}
                {placement.reason !== null && <span className="muted"> ({placement.reason})</span>}
              </>
            )}
          </p>
          <h2>Thresholds</h2>
          <p className="muted small">Checked every minute over the last 15 minutes (10 requests or more); crossing one fires model.threshold_violated.</p>
          <form aria-label="Thresholds" onSubmit={saveThresholds}>
            {fields.map(([name, label]) => (
              <label key={name}>
                {label}
                <input name={name} type="number" step="any" min={0} value={limits[name] ?? ''} onChange={(event) => setLimits({ ...limits, [name]: event.target.value })} disabled={!admin || versions.thresholds?.managed_by === 'fleet_file'} />
              </label>
            ))}
            {admin && versions.thresholds?.managed_by !== 'fleet_file' && (
              <div className="actions">
                {versions.thresholds !== null && (
                  <button type="button" onClick={() => void act(() => api('DELETE', `${base}/thresholds`), 'Could not remove the thresholds.')}>
                    Remove thresholds
                  </button>
                )}
                <button type="submit" className="primary">
                  Save thresholds
                </button>
              </div>
            )}
          </form>
        </>
      )}
    </section>
  );
}
