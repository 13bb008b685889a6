import { useState } from 'react';
import { api, ApiError, type Session } from '../api.ts';

/** Sign in with a Switchyard key; the console keeps only an httpOnly session cookie, never the key. */
export function SignIn(props: { onSignedIn: (session: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async () => {
    setError(null);
    try {
      props.onSignedIn(await api<Session>('POST', '/api/v1/session', { key: key.trim() }));
    } catch (caught) {
      setError(caught instanceof ApiError && caught.status === 401 ? 'That key was not accepted. Use an admin or read key (it starts with sk-sy-).' : 'Could not reach Switchyard.');
    }
  };
  return (
    <main className="sign-in">
      <h1>Switchyard</h1>
      <p className="muted">One OpenAI-compatible endpoint over your model servers.</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <label>
          API key
          <input name="key" type="password" value={key} onChange={(event) => setKey(event.target.value)} placeholder="sk-sy-…" autoFocus required />
        </label>
        {error !== null && <p className="error">{error}</p>}
        <button className="primary" type="submit">
          Sign in
        </button>
        <p className="muted small">The key was printed when Switchyard first started, or is the one in SWITCHYARD_ADMIN_KEY.</p>
      </form>
    </main>
  );
}
