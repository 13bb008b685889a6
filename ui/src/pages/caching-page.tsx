import { useEffect, useState } from 'react';
import { api, canChange, isManagedByFleetFile, messageOf, type CachePolicyRecord, type Session } from '../api.ts';
import { ConfirmDelete } from '../components/confirm-delete.tsx';
import { ErrorNote } from '../components/modal.tsx';
import { CachePolicyForm } from './cache-policy-form.tsx';
import { ManagedBadge } from '../components/managed-badge.tsx';

/** A number of seconds as people say it: 90 s, 1 h, 2 d. */
function duration(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} d`;
  if (seconds % 3_600 === 0) return `${seconds / 3_600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/** Response cache policies: which models and routes answer repeated (or, semantic, similar) requests from the cache. */
export function CachingPage(props: { session: Session }) {
  const [policies, setPolicies] = useState<CachePolicyRecord[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [editing, setEditing] = useState<CachePolicyRecord | 'new' | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);

  const load = () =>
    api<{ data: CachePolicyRecord[] }>('GET', '/api/v1/cache-policies').then(
      (answer) => setPolicies(answer.data),
      (caught: unknown) => setError(messageOf(caught, 'Could not load the cache policies.')),
    );
  useEffect(() => void load(), []);

  const remove = async (policy: CachePolicyRecord) => {
    setError(null);
    try {
      await api('DELETE', `/api/v1/cache-policies/${policy.name}`);
      setNotice(`The cache of ${policy.name} is off.`);
      setConfirming(null);
      await load();
    } catch (caught) {
      setError(messageOf(caught, 'Could not delete the cache policy.'));
    }
  };

  const writable = canChange(props.session);
  return (
    <section>
      <header className="page-header">
        <h1>Response cache</h1>
        {writable && (
          <div className="actions">
            <button className="primary" onClick={() => setEditing('new')}>
              Add cache policy
            </button>
          </div>
        )}
      </header>
      <ErrorNote error={error} />
      {notice !== null && <p className="notice">{notice}</p>}
      {policies === null && error === null && <p className="muted">Loading…</p>}
      {policies !== null && policies.length === 0 && (
        <div className="empty">
          <h2>No model or route is cached</h2>
          <p>
            The cache is off unless a policy turns it on for a model or route. Then a chat or completion request answered before is answered again from the cache, without a model server, and says{' '}
            <code>x-switchyard-cache: hit</code>. The hit ratio shows on the Usage page.
          </p>
        </div>
      )}
      {policies !== null && policies.length > 0 && (
        <table className="cache-policies">
          <thead>
            <tr>
              <th>Model or route</th>
              <th>Mode</th>
              <th>Time to live</th>
              <th>Scope</th>
              <th>Semantic match</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {policies.map((policy) => {
              const managed = isManagedByFleetFile(policy);
              return (
                <tr key={policy.name} data-testid={`cache-policy-row-${policy.name}`}>
                  <td>
                    <strong>{policy.name}</strong>
                    {managed && <ManagedBadge title="Change this policy in the fleet file: the API refuses edits to it." />}
                  </td>
                  <td>{policy.mode}</td>
                  <td>{duration(policy.ttl_s)}</td>
                  <td>{policy.scope === 'key' ? 'per key' : 'shared by all keys'}</td>
                  <td>{policy.mode === 'semantic' ? `≥ ${policy.similarity} with ${policy.embedding_model}` : <span className="muted">exact only</span>}</td>
                  <td className="row-actions">
                    {writable && !managed && (
                      <>
                        <button onClick={() => setEditing(policy)}>Edit</button>
                        <ConfirmDelete isAsking={confirming === policy.name} question={`Stop caching ${policy.name}?`} onAsk={() => setConfirming(policy.name)} onConfirm={() => void remove(policy)} onKeep={() => setConfirming(null)} />
                      </>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <p className="muted small">
        Per request: <code>Cache-Control: no-cache</code> asks the model again and stores its answer; <code>no-store</code> neither reads nor stores; <code>x-switchyard-cache-ttl: N</code> keeps this answer N seconds.
      </p>
      {editing !== null && (
        <CachePolicyForm
          policy={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={(policy) => {
            setEditing(null);
            setNotice(`The cache of ${policy.name} was saved.`);
            void load();
          }}
        />
      )}
    </section>
  );
}
