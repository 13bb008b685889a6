import { useEffect, useState } from 'react';
import { api, ApiError, canChange, type KeyRecord, type Session } from '../api.ts';
import { ErrorNote } from '../components/modal.tsx';

/** Switchyard keys: create (the secret is shown once, with a copy button), see limits and usage, revoke. */
export function KeysPage(props: { session: Session }) {
  const [keys, setKeys] = useState<KeyRecord[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [scope, setScope] = useState('inference');
  const [rpm, setRpm] = useState('');
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const [copied, setCopied] = useState(false);

  const load = () => api<{ data: KeyRecord[] }>('GET', '/api/v1/keys').then((answer) => setKeys(answer.data), (caught: unknown) => setError(caught instanceof Error ? caught.message : 'Could not load keys.'));
  useEffect(() => void load(), []);

  const create = async () => {
    setError(null);
    try {
      const body: Record<string, unknown> = { name, scopes: [scope] };
      if (rpm !== '') body['rpm'] = Number(rpm);
      const answer = await api<KeyRecord & { key: string }>('POST', '/api/v1/keys', body);
      setCreated({ name: answer.name, key: answer.key });
      setCopied(false);
      setName('');
      await load();
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : 'Could not create the key.');
    }
  };
  const revoke = async (key: KeyRecord) => {
    await api('DELETE', `/api/v1/keys/${key.id}`);
    await load();
  };
  const writable = canChange(props.session);
  return (
    <section>
      <h1>API keys</h1>
      <ErrorNote error={error} />
      {writable && (
        <form
          className="inline-form"
          onSubmit={(event) => {
            event.preventDefault();
            void create();
          }}
        >
          <input name="key-name" placeholder="Name, e.g. search-app" value={name} onChange={(event) => setName(event.target.value)} required />
          <select name="key-scope" value={scope} onChange={(event) => setScope(event.target.value)}>
            <option value="inference">inference (/v1 only)</option>
            <option value="read">read (view everything)</option>
            <option value="admin">admin (everything)</option>
          </select>
          <input name="key-rpm" placeholder="Requests/minute (optional)" value={rpm} onChange={(event) => setRpm(event.target.value)} inputMode="numeric" />
          <button className="primary" type="submit">
            Create key
          </button>
        </form>
      )}
      {created !== null && (
        <div className="secret" role="status">
          <p>
            The key <strong>{created.name}</strong> was created. Copy it now: it is shown only this once.
          </p>
          <code data-testid="new-key">{created.key}</code>
          <button
            onClick={() => {
              void navigator.clipboard?.writeText(created.key).then(() => setCopied(true), () => setCopied(false));
            }}
          >
            {copied ? 'Copied' : 'Copy'}
          </button>
          <button className="link" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      )}
      {keys !== null && keys.length === 0 && <p className="empty">No keys yet. Create one per application so each can be limited and revoked on its own.</p>}
      {keys !== null && keys.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Key</th>
              <th>Scopes</th>
              <th>Limits</th>
              <th>Used tokens</th>
              <th>Last used</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr key={key.id} data-testid={`key-row-${key.name}`}>
                <td>{key.name}</td>
                <td>
                  <code>{key.prefix}…</code>
                </td>
                <td>{key.scopes.join(', ')}</td>
                <td>{[key.rpm === null ? null : `${key.rpm} rpm`, key.tpm === null ? null : `${key.tpm} tpm`, key.budget_tokens === null ? null : `budget ${key.budget_tokens}`].filter(Boolean).join(' · ') || '—'}</td>
                <td>{key.used_tokens}</td>
                <td>{key.last_used_at === null ? 'never' : new Date(key.last_used_at).toLocaleString()}</td>
                <td>{key.revoked_at === null ? 'active' : 'revoked'}</td>
                <td>
                  {writable && key.revoked_at === null && (
                    <button className="danger" onClick={() => void revoke(key)}>
                      Revoke
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
