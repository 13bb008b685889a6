import { useEffect, useState, type FormEvent } from 'react';
import { api, canChange, messageOf, type Session } from '../api.ts';
import { FormActions } from '../components/form-actions.tsx';
import { ManagedBadge } from '../components/managed-badge.tsx';
import { ErrorNote, Modal } from '../components/modal.tsx';

export interface PlacementRecord {
  model: string;
  pulled_on: number | null;
  servers: string[] | null;
  warm_on: number;
  keep_alive: string | number | null;
  active_hours: string | null;
  status: 'satisfied' | 'progressing' | 'failed';
  reason: string | null;
  held_on: string[];
  warm_on_servers: string[];
  managed_by: 'fleet_file' | null;
}

const path = (model: string) => `/api/v1/placements/${model.split('/').map(encodeURIComponent).join('/')}`;

/** Placements: what the fleet should hold and keep warm, and how far reality is from it (refreshed every few seconds). */
export function PlacementsSection(props: { session: Session }) {
  const [placements, setPlacements] = useState<PlacementRecord[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<PlacementRecord | 'new' | null>(null);
  const admin = canChange(props.session);
  const load = () => api<{ data: PlacementRecord[] }>('GET', '/api/v1/placements').then((answer) => setPlacements(answer.data), (caught: unknown) => setError(messageOf(caught, 'Could not load placements.')));
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), 3_000);
    return () => clearInterval(timer);
  }, []);
  const remove = async (model: string) => {
    if (!window.confirm(`Stop keeping ${model} placed? Nothing is deleted from the servers.`)) return;
    try {
      await api('DELETE', path(model));
      await load();
    } catch (caught) {
      setError(messageOf(caught, 'Could not delete the placement.'));
    }
  };
  return (
    <section aria-labelledby="placements-heading">
      <h2 id="placements-heading">Placements</h2>
      <p className="muted small">Say on how many servers a model is pulled and kept loaded; Switchyard pulls and warms until it is so.</p>
      {admin && <button onClick={() => setEditing('new')}>Add placement</button>}
      <ErrorNote error={error} />
      {placements.length === 0 ? (
        <p className="empty">No placements.</p>
      ) : (
        <table aria-label="Placements">
          <thead>
            <tr>
              <th>Model</th>
              <th>Wanted</th>
              <th>Held on</th>
              <th>Warm on</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {placements.map((placement) => (
              <tr key={placement.model} data-testid={`placement-${placement.model}`}>
                <td>
                  {placement.model} {placement.managed_by === 'fleet_file' && <ManagedBadge />}
                </td>
                <td>
                  {placement.servers === null ? `pulled on ${placement.pulled_on}` : `on ${placement.servers.join(', ')}`}, warm on {placement.warm_on}
                  {placement.active_hours === null ? '' : ` (${placement.active_hours} UTC)`}
                </td>
                <td>{placement.held_on.join(', ') || '—'}</td>
                <td>{placement.warm_on_servers.join(', ') || '—'}</td>
                <td>
                  <span className={`badge placement-${placement.status}`}>{placement.status}</span>
                  {placement.reason !== null && <div className="small muted">{placement.reason}</div>}
                </td>
                <td>
                  {admin && placement.managed_by === null && (
                    <>
                      <button className="link" onClick={() => setEditing(placement)}>
                        Edit
                      </button>
                      <button className="link danger" onClick={() => void remove(placement.model)}>
                        Delete
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing !== null && (
        <PlacementForm
          current={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            void load();
          }}
        />
      )}
    </section>
  );
}

function PlacementForm(props: { current: PlacementRecord | null; onClose: () => void; onSaved: () => void }) {
  const { current } = props;
  const [model, setModel] = useState(current?.model ?? '');
  const [servers, setServers] = useState(current?.servers?.join(', ') ?? '');
  const [pulledOn, setPulledOn] = useState(String(current?.pulled_on ?? 1));
  const [warmOn, setWarmOn] = useState(String(current?.warm_on ?? 0));
  const [keepAlive, setKeepAlive] = useState(current?.keep_alive === null || current === null ? '' : String(current.keep_alive));
  const [activeHours, setActiveHours] = useState(current?.active_hours ?? '');
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaving(true);
    setError(null);
    const named = servers.split(',').map((name) => name.trim()).filter((name) => name !== '');
    const body: Record<string, unknown> = { warm_on: Number(warmOn), ...(named.length > 0 ? { servers: named } : { pulled_on: Number(pulledOn) }) };
    if (keepAlive.trim() !== '') body['keep_alive'] = keepAlive.trim();
    if (activeHours.trim() !== '') body['active_hours'] = activeHours.trim();
    try {
      await api('PUT', path(model.trim()), body);
      props.onSaved();
    } catch (caught) {
      setError(messageOf(caught, 'Could not save the placement.'));
    } finally {
      setSaving(false);
    }
  };
  return (
    <Modal title={current === null ? 'Add a placement' : `Placement for ${current.model}`} onClose={props.onClose}>
      <form aria-label="Placement" onSubmit={(event) => void submit(event)}>
        <label>
          Model
          <input name="model" value={model} onChange={(event) => setModel(event.target.value)} disabled={current !== null} required />
        </label>
        <label>
          Pulled on (number of servers)
          <input name="pulled_on" type="number" min={1} value={pulledOn} onChange={(event) => setPulledOn(event.target.value)} disabled={servers.trim() !== ''} />
        </label>
        <label>
          Or on these servers (names, comma-separated)
          <input name="servers" value={servers} onChange={(event) => setServers(event.target.value)} />
        </label>
        <label>
          Warm on (kept loaded)
          <input name="warm_on" type="number" min={0} value={warmOn} onChange={(event) => setWarmOn(event.target.value)} />
        </label>
        <label>
          Keep alive
          <input name="keep_alive" value={keepAlive} onChange={(event) => setKeepAlive(event.target.value)} placeholder="30m, 2h, -1 (for ever)" />
        </label>
        <label>
          Active hours (UTC)
          <input name="active_hours" value={activeHours} onChange={(event) => setActiveHours(event.target.value)} placeholder="08:00-18:00" />
        </label>
        <ErrorNote error={error} />
        <FormActions saving={saving} onCancel={props.onClose} />
      </form>
    </Modal>
  );
}
