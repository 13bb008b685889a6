import { useEffect, useState } from 'react';
import { api, ApiError, canChange, messageOf, webhookEvents, type Session, type WebhookDelivery, type WebhookRecord } from '../api.ts';
import { ErrorNote } from '../components/modal.tsx';
import { SecretOnce } from '../components/secret-once.tsx';

/** A signing secret from the browser's CSPRNG: 32 random bytes as hex (the API wants at least 16 characters). */
function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}

function deliveryOutcome(delivery: WebhookDelivery): string {
  if (delivery.status === 'delivered') return `receiver answered HTTP ${delivery.response_status ?? '2xx'}`;
  const reason = delivery.error ?? (delivery.response_status === null ? 'no answer' : `HTTP ${delivery.response_status}`);
  if (delivery.status === 'retrying') return `${reason}; retrying${delivery.next_attempt_at === null ? '' : ` at ${new Date(delivery.next_attempt_at).toLocaleTimeString()}`}`;
  if (delivery.status === 'failed') return `${reason}; gave up`;
  return 'waiting to be sent';
}

/** Webhook subscriptions: create (the secret is shown once), send a test event, read recent deliveries, delete. */
export function WebhooksPage(props: { session: Session }) {
  const [hooks, setHooks] = useState<WebhookRecord[] | null>(null);
  const [error, setError] = useState<{ message: string; param: string | null } | null>(null);
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>(['server.down', 'server.up']);
  const [secret, setSecret] = useState(newSecret);
  const [created, setCreated] = useState<{ url: string; secret: string } | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [refresh, setRefresh] = useState(0);
  const [notice, setNotice] = useState<string | null>(null);

  const load = () =>
    api<{ data: WebhookRecord[] }>('GET', '/api/v1/webhooks').then(
      (answer) => setHooks(answer.data),
      (caught: unknown) => setError({ message: messageOf(caught, 'Could not load the webhooks.'), param: null }),
    );
  useEffect(() => void load(), []);

  const toggle = (event: string) => setEvents(events.includes(event) ? events.filter((entry) => entry !== event) : [...events, event]);
  const create = async () => {
    setError(null);
    if (events.length === 0) {
      setError({ message: 'Pick at least one event.', param: 'events' });
      return;
    }
    try {
      const hook = await api<WebhookRecord>('POST', '/api/v1/webhooks', { url, events, secret });
      setCreated({ url: hook.url, secret });
      setUrl('');
      setSecret(newSecret());
      setOpen(hook.id);
      await load();
    } catch (caught) {
      setError(caught instanceof ApiError ? { message: caught.message, param: caught.param } : { message: 'Could not create the webhook.', param: null });
    }
  };
  const sendTest = async (hook: WebhookRecord) => {
    setNotice(null);
    setError(null);
    try {
      const delivery = await api<WebhookDelivery>('POST', `/api/v1/webhooks/${hook.id}/test`);
      setNotice(`Test event to ${hook.url}: ${deliveryOutcome(delivery)}.`);
    } catch (caught) {
      setError({ message: messageOf(caught, 'The test could not be sent.'), param: null });
    }
    setOpen(hook.id);
    setRefresh((count) => count + 1);
  };
  const remove = async (hook: WebhookRecord) => {
    setError(null);
    try {
      await api('DELETE', `/api/v1/webhooks/${hook.id}`);
      setNotice(`The webhook to ${hook.url} was deleted.`);
      await load();
    } catch (caught) {
      setError({ message: messageOf(caught, 'Could not delete the webhook.'), param: null });
    }
  };

  const writable = canChange(props.session);
  const fieldError = (param: string) => (error?.param === param ? <span className="field-error">{error.message}</span> : null);
  return (
    <section>
      <h1>Webhooks</h1>
      <p className="muted">Signed POSTs to your URL when a server goes down or comes back, models appear or go, a key's budget runs out or a circuit opens.</p>
      {writable && (
        <form
          className="webhook-form"
          onSubmit={(event) => {
            event.preventDefault();
            void create();
          }}
        >
          <label>
            Receiver URL
            <input name="webhook-url" value={url} onChange={(event) => setUrl(event.target.value)} placeholder="https://hooks.internal/switchyard" required />
            {fieldError('url')}
          </label>
          <fieldset>
            <legend>Events</legend>
            {[...webhookEvents, '*'].map((event) => (
              <label key={event} className="check">
                <input type="checkbox" name={`event-${event}`} checked={events.includes(event)} onChange={() => toggle(event)} />
                {event === '*' ? 'all events (*)' : event}
              </label>
            ))}
            {fieldError('events')}
          </fieldset>
          <label>
            Signing secret <span className="muted">(generated here; keep it to verify x-switchyard-signature)</span>
            <span className="with-button">
              <input name="webhook-secret" value={secret} onChange={(event) => setSecret(event.target.value)} minLength={16} autoComplete="off" required />
              <button type="button" onClick={() => setSecret(newSecret())}>
                New secret
              </button>
            </span>
            {fieldError('secret')}
          </label>
          {error !== null && !['url', 'events', 'secret'].includes(error.param ?? '') && <p className="error" role="alert">{error.message}</p>}
          <button className="primary" type="submit">
            Create webhook
          </button>
        </form>
      )}
      {!writable && error !== null && <ErrorNote error={error.message} />}
      {created !== null && (
        <SecretOnce key={created.secret} secret={created.secret} testId="new-webhook-secret" onDone={() => setCreated(null)}>
          Deliveries to <strong>{created.url}</strong> are signed with this secret. Copy it now: the gateway stores it encrypted and never shows it again.
        </SecretOnce>
      )}
      {notice !== null && (
        <p className="notice" data-testid="webhook-notice">
          {notice}
        </p>
      )}
      {hooks !== null && hooks.length === 0 && <p className="empty">No webhooks yet. Add a receiver URL to hear about the fleet as it changes.</p>}
      {hooks?.map((hook) => (
        <article key={hook.id} className="webhook" data-testid={`webhook-${hook.url}`}>
          <header>
            <strong className="url">{hook.url}</strong>
            <span className="muted small">since {new Date(hook.created_at).toLocaleString()}</span>
          </header>
          <p>
            {hook.events.map((event) => (
              <span key={event} className="badge">
                {event === '*' ? 'all events' : event}
              </span>
            ))}
          </p>
          <footer>
            {writable && <button onClick={() => void sendTest(hook)}>Send test event</button>}
            <button onClick={() => setOpen(open === hook.id ? null : hook.id)}>{open === hook.id ? 'Hide deliveries' : 'Recent deliveries'}</button>
            {writable && <DeleteButton label={hook.url} onConfirm={() => void remove(hook)} />}
          </footer>
          {open === hook.id && <Deliveries webhookId={hook.id} refresh={refresh} />}
        </article>
      ))}
    </section>
  );
}

function DeleteButton(props: { label: string; onConfirm: () => void }) {
  const [confirming, setConfirming] = useState(false);
  return confirming ? (
    <>
      <button className="danger" onClick={props.onConfirm}>
        Delete this webhook?
      </button>
      <button onClick={() => setConfirming(false)}>Keep</button>
    </>
  ) : (
    <button className="danger" onClick={() => setConfirming(true)} title={`Stop sending events to ${props.label}`}>
      Delete
    </button>
  );
}

/** The subscription's latest deliveries, newest first. */
function Deliveries(props: { webhookId: string; refresh: number }) {
  const [deliveries, setDeliveries] = useState<WebhookDelivery[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () =>
    api<{ data: WebhookDelivery[] }>('GET', `/api/v1/webhooks/${props.webhookId}/deliveries?limit=20`).then(
      (answer) => setDeliveries(answer.data),
      (caught: unknown) => setError(messageOf(caught, 'Could not load the deliveries.')),
    );
  useEffect(() => void load(), [props.webhookId, props.refresh]);
  return (
    <div className="deliveries">
      <ErrorNote error={error} />
      {deliveries !== null && deliveries.length === 0 && <p className="muted">Nothing sent yet. Send a test event to check the receiver.</p>}
      {deliveries !== null && deliveries.length > 0 && (
        <table data-testid="deliveries">
          <thead>
            <tr>
              <th>Sent</th>
              <th>Event</th>
              <th>Status</th>
              <th>HTTP</th>
              <th>Attempts</th>
              <th>Outcome</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.map((delivery) => (
              <tr key={delivery.id} data-testid="delivery-row" data-status={delivery.status}>
                <td>{new Date(delivery.created_at).toLocaleString()}</td>
                <td>
                  <code>{delivery.event}</code>
                </td>
                <td className={`delivery-${delivery.status}`}>{delivery.status}</td>
                <td>{delivery.response_status ?? '—'}</td>
                <td>{delivery.attempts}</td>
                <td>{deliveryOutcome(delivery)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <button className="link" onClick={() => void load()}>
        Refresh
      </button>
    </div>
  );
}
