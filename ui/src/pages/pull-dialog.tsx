import { useState, type FormEvent } from 'react';
import { api, messageOf, type Inventory, type OperationView } from '../api.ts';
import { ErrorNote, Modal } from '../components/modal.tsx';
import { LiveOperation } from '../components/operation-progress.tsx';

/** Pull a model onto chosen Ollama servers (or all), then watch one progress bar per server. */
export function PullDialog(props: { servers: Inventory['servers']; initialModel?: string; onClose: () => void; onEnded: (view: OperationView) => void }) {
  const pullable = props.servers.filter((server) => server.actions.includes('pull'));
  const [model, setModel] = useState(props.initialModel ?? '');
  const [chosen, setChosen] = useState<Set<string>>(new Set(pullable.filter((server) => server.is_active).map((server) => server.id)));
  const [error, setError] = useState<string | null>(null);
  const [operation, setOperation] = useState<string | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const started = await api<{ operation_id: string }>('POST', '/api/v1/models/pull', { model: model.trim(), servers: [...chosen] });
      setOperation(started.operation_id);
    } catch (caught) {
      setError(messageOf(caught, 'The pull could not start.'));
    }
  };
  const toggle = (id: string) => {
    const next = new Set(chosen);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setChosen(next);
  };
  return (
    <Modal title="Pull a model" onClose={props.onClose}>
      {operation === null ? (
        <form onSubmit={(event) => void submit(event)}>
          <label>
            Model
            <input name="model" value={model} onChange={(event) => setModel(event.target.value)} placeholder="llama3.2:3b or hf.co/owner/repo:Q4_K_M" required />
          </label>
          <fieldset>
            <legend>Servers</legend>
            {pullable.length === 0 && <p className="muted">No server here can pull models (only Ollama servers can).</p>}
            {pullable.map((server) => (
              <label key={server.id} className="inline">
                <input type="checkbox" name={`server-${server.name}`} checked={chosen.has(server.id)} onChange={() => toggle(server.id)} /> {server.name}
              </label>
            ))}
          </fieldset>
          <ErrorNote error={error} />
          <div className="actions">
            <button type="button" onClick={props.onClose}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={chosen.size === 0 || model.trim() === ''}>
              Pull
            </button>
          </div>
        </form>
      ) : (
        <>
          <LiveOperation id={operation} onEnded={props.onEnded} />
          <div className="actions">
            <button type="button" onClick={props.onClose}>
              Close
            </button>
          </div>
        </>
      )}
    </Modal>
  );
}
