import { useEffect, useState } from 'react';
import { api, ApiError, canChange, formatBytes, messageOf, type Inventory, type InventoryCell, type OperationView, type Session } from '../api.ts';
import { ErrorNote } from '../components/modal.tsx';
import { LiveOperation, OperationProgress } from '../components/operation-progress.tsx';
import { PullDialog } from './pull-dialog.tsx';

function describe(cell: InventoryCell): string {
  return [
    cell.loaded ? 'loaded' : 'on disk, not loaded',
    cell.digest === null ? null : `digest ${cell.digest.slice(0, 12)}`,
    cell.size === null ? null : formatBytes(cell.size),
    cell.quantization,
    cell.parameter_size,
    cell.size_vram === null ? null : `${formatBytes(cell.size_vram)} in VRAM`,
    cell.expires_at === null ? null : `unloads ${new Date(cell.expires_at).toLocaleString()}`,
  ]
    .filter((part) => part !== null)
    .join(' · ');
}

/**
 * The inventory: models down, servers across, each cell loaded (●),
 * on disk (○) or absent (–); an admin pulls, loads, unloads and deletes from
 * here and watches each operation's progress per server.
 */
/** `onChanged`: models were loaded, unloaded, pulled or deleted, so whatever else the page shows of them is read again. */
export function InventoryMatrix(props: { session: Session; onChanged?: () => void }) {
  const [inventory, setInventory] = useState<Inventory | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pulling, setPulling] = useState(false);
  const [live, setLive] = useState<string[]>([]);
  const [recent, setRecent] = useState<OperationView[]>([]);
  // Opened when something runs; it stays as the person leaves it once that ends.
  const [recentOpen, setRecentOpen] = useState(false);
  const anyRunning = recent.some((view) => view.status === 'running');
  useEffect(() => {
    if (anyRunning) setRecentOpen(true);
  }, [anyRunning]);
  const [refused, setRefused] = useState<{ model: string; serverId: string; message: string } | null>(null);
  const admin = canChange(props.session);
  const load = () => {
    api<Inventory>('GET', '/api/v1/inventory').then(setInventory, (caught: unknown) => setError(messageOf(caught, 'Could not load the inventory.')));
    api<{ data: OperationView[] }>('GET', '/api/v1/operations?limit=10').then((answer) => setRecent(answer.data), () => undefined);
  };
  useEffect(() => {
    load();
    // Models appear and go as probes see them (a pull ends, a server comes back).
    const events = new EventSource('/api/v1/events');
    events.addEventListener('server', () => {
      load();
      props.onChanged?.();
    });
    return () => events.close();
  }, []);
  const ended = (view: OperationView) => {
    setLive((ids) => ids.filter((id) => id !== view.id));
    load();
    props.onChanged?.();
  };
  const start = async (method: string, path: string, body?: unknown) => {
    setError(null);
    try {
      const started = await api<{ operation_id: string }>(method, path, body);
      setLive((ids) => [started.operation_id, ...ids]);
    } catch (caught) {
      setError(messageOf(caught, 'The operation could not start.'));
    }
  };
  const remove = async (model: string, serverId: string, force = false) => {
    setRefused(null);
    setError(null);
    try {
      const started = await api<{ operation_id: string }>('DELETE', `/api/v1/models/${encodeURIComponent(model)}?servers=${encodeURIComponent(serverId)}${force ? '&force=true' : ''}`);
      setLive((ids) => [started.operation_id, ...ids]);
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 409) setRefused({ model, serverId, message: caught.message });
      else setError(messageOf(caught, 'The delete could not start.'));
    }
  };
  const model = (id: string) => `/api/v1/models/${encodeURIComponent(id)}`;
  if (inventory === null) return <ErrorNote error={error} />;
  return (
    <section aria-labelledby="inventory-heading">
      <h2 id="inventory-heading">Inventory</h2>
      <p className="muted small">● loaded in memory · ○ on disk · – absent</p>
      {admin && (
        <button className="primary" onClick={() => setPulling(true)}>
          Pull model
        </button>
      )}
      <ErrorNote error={error} />
      {refused !== null && (
        <p className="error" role="alert">
          {refused.message}{' '}
          <button onClick={() => void remove(refused.model, refused.serverId, true)}>Delete anyway</button>
        </p>
      )}
      {live.map((id) => (
        <LiveOperation key={id} id={id} onEnded={ended} />
      ))}
      {inventory.models.length === 0 ? (
        <p className="empty">No models on any server yet.</p>
      ) : (
        <div className="matrix-scroll">
          <table className="matrix" aria-label="Models by server">
            <thead>
              <tr>
                <th>Model</th>
                {inventory.servers.map((server) => (
                  <th key={server.id} scope="col">
                    {server.name}
                    <div className="muted small">{server.server_type}</div>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {inventory.models.map((entry) => (
                <tr key={entry.id} data-testid={`inventory-${entry.id}`}>
                  <th scope="row">
                    <a href={`#/models/${encodeURIComponent(entry.id)}`}>{entry.id}</a>
                    {!entry.active && <span className="badge status-failed">inactive</span>}
                    <div className="muted small">
                      loaded on {entry.loaded_on} of {entry.available_on}
                    </div>
                  </th>
                  {inventory.servers.map((server) => {
                    const cell = entry.servers.find((candidate) => candidate.server_id === server.id);
                    const state = cell === undefined ? 'absent' : cell.loaded ? 'loaded' : 'available';
                    return (
                      <td key={server.id} className={`cell-${state}`} data-testid={`cell-${entry.id}-${server.name}`} data-state={state} title={cell === undefined ? 'absent' : describe(cell)}>
                        <span aria-label={state}>{state === 'loaded' ? '●' : state === 'available' ? '○' : '–'}</span> <span className="small">{state === 'absent' ? '' : state === 'loaded' ? 'loaded' : 'on disk'}</span>
                        {admin && cell !== undefined && (
                          <span className="cell-actions">
                            {!cell.loaded && server.actions.includes('load') && server.server_type !== 'vllm' && (
                              <button className="link small" onClick={() => void start('POST', `${model(entry.id)}/load`, { servers: [server.id] })}>
                                Load
                              </button>
                            )}
                            {cell.loaded && server.actions.includes('unload') && server.server_type !== 'vllm' && (
                              <button className="link small" onClick={() => void start('POST', `${model(entry.id)}/unload`, { servers: [server.id] })}>
                                Unload
                              </button>
                            )}
                            {server.actions.includes('remove') && (
                              <button className="link small danger" onClick={() => window.confirm(`Delete ${entry.id} from ${server.name}?`) && void remove(entry.id, server.id)}>
                                Delete
                              </button>
                            )}
                          </span>
                        )}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {recent.length > 0 && (
        // Open while something runs: operations started elsewhere (the CLI, another replica) are followed live and can be cancelled here.
        <details open={recentOpen} onToggle={(event) => setRecentOpen(event.currentTarget.open)} data-testid="recent-operations">
          <summary>Recent operations</summary>
          {recent.map((view) => (view.status === 'running' ? <LiveOperation key={view.id} id={view.id} onEnded={() => load()} /> : <OperationProgress key={view.id} view={view} />))}
        </details>
      )}
      {pulling && <PullDialog servers={inventory.servers} onClose={() => setPulling(false)} onEnded={() => load()} />}
    </section>
  );
}
