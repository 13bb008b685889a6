import { useEffect, useState } from 'react';
import { api, ApiError, canChange, type KeyRecord, type Session } from '../api.ts';
import { ErrorNote } from '../components/modal.tsx';
import { SecretOnce } from '../components/secret-once.tsx';
import { KeyForm } from './key-form.tsx';

const statusLabels: Record<KeyRecord['status'], string> = { active: 'active', revoked: 'revoked', expired: 'expired', budget_exhausted: 'budget exhausted' };

function limitsOf(key: KeyRecord): string {
  return [key.rpm === null ? null : `${key.rpm} rpm`, key.tpm === null ? null : `${key.tpm} tpm`].filter(Boolean).join(' · ') || '—';
}

/** Switchyard keys: create and edit (every field the API has), see limits and usage, revoke. The secret is shown once. */
export function KeysPage(props: { session: Session }) {
  const [keys, setKeys] = useState<KeyRecord[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<KeyRecord | 'new' | null>(null);
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);

  const load = () => api<{ data: KeyRecord[] }>('GET', '/api/v1/keys').then((answer) => setKeys(answer.data), (caught: unknown) => setError(caught instanceof Error ? caught.message : 'Could not load keys.'));
  useEffect(() => void load(), []);

  const revoke = async (key: KeyRecord) => {
    setError(null);
    try {
      await api('DELETE', `/api/v1/keys/${key.id}`);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught.message : 'Could not revoke the key.');
    }
    await load();
  };
  const writable = canChange(props.session);
  return (
    <section>
      <header className="page-header">
        <h1>API keys</h1>
        {writable && (
          <div className="actions">
            <button className="primary" onClick={() => setEditing('new')}>
              New key
            </button>
          </div>
        )}
      </header>
      <ErrorNote error={error} />
      {created !== null && (
        <SecretOnce key={created.key} secret={created.key} testId="new-key" onDone={() => setCreated(null)}>
          The key <strong>{created.name}</strong> was created. Copy it now: it is shown only this once.
        </SecretOnce>
      )}
      {keys !== null && keys.length === 0 && <p className="empty">No keys yet. Create one per application so each can be limited and revoked on its own.</p>}
      {keys !== null && keys.length > 0 && (
        <table className="keys">
          <thead>
            <tr>
              <th>Name</th>
              <th>Key</th>
              <th>Scopes</th>
              <th>Models</th>
              <th>Limits</th>
              <th>Used / budget</th>
              <th>Expires</th>
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
                <td data-testid="key-models">{key.models === null ? <span className="muted">all</span> : key.models.join(', ')}</td>
                <td>{limitsOf(key)}</td>
                <td>
                  {key.used_tokens}
                  {key.budget_tokens === null ? '' : ` / ${key.budget_tokens}`}
                  {(key.budget_cost ?? null) !== null || (key.used_cost ?? 0) > 0 ? (
                    <div className="small" data-testid="key-spend">
                      spent {(key.used_cost ?? 0).toFixed(4)}
                      {key.budget_cost === null || key.budget_cost === undefined ? '' : ` / ${key.budget_cost}`}
                    </div>
                  ) : null}
                </td>
                <td>{key.expires_at === null ? 'never' : new Date(key.expires_at).toLocaleString()}</td>
                <td>{key.last_used_at === null ? 'never' : new Date(key.last_used_at).toLocaleString()}</td>
                <td data-testid="key-status">
                  <span className={`state ${key.status}`}>{statusLabels[key.status]}</span>
                </td>
                <td className="row-actions">
                  {writable && key.revoked_at === null && (
                    <>
                      <button onClick={() => setEditing(key)}>Edit</button>
                      <button className="danger" onClick={() => void revoke(key)}>
                        Revoke
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
        <KeyForm
          keyRecord={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={(saved) => {
            if (saved.key !== undefined) {
              setCreated({ name: saved.name, key: saved.key });
            }
            setEditing(null);
            void load();
          }}
        />
      )}
    </section>
  );
}
