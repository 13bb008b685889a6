import { useEffect, useState } from 'react';
import { api, messageOf, type AuditRecord, type KeyRecord } from '../api.ts';
import { ErrorNote } from '../components/modal.tsx';

const pageSize = 25;
const targetTypes = ['server', 'route', 'key', 'webhook', 'setting', 'cache_policy', 'collection', 'model', 'operation', 'placement'];
/** Suggestions for the action filter, which takes any action name. */
const actions = ['server.create', 'server.update', 'server.delete', 'route.create', 'route.update', 'route.delete', 'key.create', 'key.update', 'key.rotate', 'key.revoke', 'webhook.create', 'webhook.delete'];
/** Actors with no key record: the admin key from the environment (named as the session and usage name it), and the gateway's own changes. */
const systemActors: Record<string, string> = { 'env-admin': 'SWITCHYARD_ADMIN_KEY', 'fleet-file': 'fleet file', discovery: 'discovery', gateway: 'gateway' };

interface Filters {
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  from: string;
  to: string;
}

const noFilters: Filters = { actor: '', action: '', target_type: '', target_id: '', from: '', to: '' };

/** The query string for one page: a datetime-local value is the browser's local time. */
function queryOf(filters: Filters, cursor: string | null): string {
  const query = new URLSearchParams({ limit: String(pageSize) });
  for (const name of ['actor', 'action', 'target_type', 'target_id'] as const) if (filters[name].trim() !== '') query.set(name, filters[name].trim());
  for (const name of ['from', 'to'] as const) if (filters[name] !== '') query.set(name, new Date(filters[name]).toISOString());
  if (cursor !== null) query.set('cursor', cursor);
  return query.toString();
}

/** What changed, field by field, for an update; the record's name otherwise. */
function summaryOf(entry: AuditRecord): string {
  const before = (entry.before ?? {}) as Record<string, unknown>;
  const after = (entry.after ?? {}) as Record<string, unknown>;
  if (entry.before !== null && entry.after !== null) {
    const changed = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((field) => field !== 'updated_at' && JSON.stringify(before[field]) !== JSON.stringify(after[field]));
    return changed.length === 0 ? 'no visible change' : `changed ${changed.join(', ')}`;
  }
  const name = (after['name'] ?? before['name'] ?? after['url'] ?? before['url']) as unknown;
  return typeof name === 'string' ? name : '';
}

/** Every admin change, newest first: who, what, when, from where; filtered, and paged with the API's cursor. */
export function AuditPage() {
  const [applied, setApplied] = useState<Filters>(noFilters);
  const [entries, setEntries] = useState<AuditRecord[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [keyNames, setKeyNames] = useState<Record<string, string>>({});
  const [open, setOpen] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const fetchPage = async (cursor: string | null) => {
    setLoading(true);
    setError(null);
    try {
      const page = await api<{ data: AuditRecord[]; next_cursor: string | null }>('GET', `/api/v1/audit?${queryOf(applied, cursor)}`);
      setEntries((current) => (cursor === null ? page.data : [...(current ?? []), ...page.data]));
      setNext(page.next_cursor);
    } catch (caught) {
      setError(messageOf(caught, 'Could not load the audit log.'));
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => void fetchPage(null), [applied]);
  useEffect(() => {
    api<{ data: KeyRecord[] }>('GET', '/api/v1/keys').then(
      (answer) => setKeyNames(Object.fromEntries(answer.data.map((key) => [key.id, key.name]))),
      () => setKeyNames({}),
    );
  }, []);

  const actorName = (id: string | null) => (id === null ? 'unknown' : (keyNames[id] ?? systemActors[id] ?? id));
  return (
    <section>
      <h1>Audit log</h1>
      <AuditFilters keyNames={keyNames} onApply={(filters) => setApplied({ ...filters })} />
      <ErrorNote error={error} />
      {entries !== null && entries.length === 0 && <p className="empty">No changes match. Changes made through the API, the console or the fleet file are recorded here.</p>}
      {entries !== null && entries.length > 0 && (
        <table className="audit" data-testid="audit-table">
          <thead>
            <tr>
              <th>Time</th>
              <th>Actor</th>
              <th>Action</th>
              <th>Target</th>
              <th>Change</th>
              <th>Request</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {entries.map((entry) => (
              <AuditRow key={entry.id} entry={entry} actor={actorName(entry.actor_key_id)} isOpen={open === entry.id} onToggle={() => setOpen(open === entry.id ? null : entry.id)} />
            ))}
          </tbody>
        </table>
      )}
      {entries !== null && entries.length > 0 && (
        <p className="pager">
          <span className="muted" data-testid="audit-count">
            {next === null ? `Showing all ${entries.length} ${entries.length === 1 ? 'entry' : 'entries'}` : `Showing the newest ${entries.length} entries`}
          </span>
          {next !== null && (
            <button onClick={() => void fetchPage(next)} disabled={loading}>
              {loading ? 'Loading…' : 'Load older'}
            </button>
          )}
        </p>
      )}
    </section>
  );
}

/** The filter form: edited here, applied (and cleared) through `onApply`. */
function AuditFilters(props: { keyNames: Record<string, string>; onApply: (filters: Filters) => void }) {
  const [filters, setFilters] = useState<Filters>(noFilters);
  const set = (name: keyof Filters) => (event: { target: { value: string } }) => setFilters({ ...filters, [name]: event.target.value });
  const keyNames = props.keyNames;
  return (
    <form
      className="filters"
      onSubmit={(event) => {
        event.preventDefault();
        props.onApply(filters);
      }}
    >
      <label>
        Actor
        <select name="actor" value={filters.actor} onChange={set('actor')}>
          <option value="">anyone</option>
          {[...Object.entries(systemActors), ...Object.entries(keyNames).map(([id, name]) => [id, `key ${name}`] as const)].map(([id, label]) => (
            <option key={id} value={id}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Action
        <input name="action" list="audit-actions" value={filters.action} onChange={set('action')} placeholder="any" />
        <datalist id="audit-actions">
          {actions.map((action) => (
            <option key={action} value={action} />
          ))}
        </datalist>
      </label>
      <label>
        Target type
        <select name="target_type" value={filters.target_type} onChange={set('target_type')}>
          <option value="">any</option>
          {targetTypes.map((type) => (
            <option key={type} value={type}>
              {type}
            </option>
          ))}
        </select>
      </label>
      <label>
        Target id
        <input name="target_id" value={filters.target_id} onChange={set('target_id')} placeholder="any" />
      </label>
      <label>
        From
        <input name="from" type="datetime-local" value={filters.from} onChange={set('from')} />
      </label>
      <label>
        Until
        <input name="to" type="datetime-local" value={filters.to} onChange={set('to')} />
      </label>
      <div className="actions">
        <button className="primary" type="submit">
          Filter
        </button>
        <button
          type="button"
          onClick={() => {
            setFilters(noFilters);
            props.onApply(noFilters);
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
}

/** One change, and under it (when open) the record before and after. */
function AuditRow(props: { entry: AuditRecord; actor: string; isOpen: boolean; onToggle: () => void }) {
  const entry = props.entry;
  return (
    <>
      <tr data-testid="audit-row" data-id={entry.id} data-action={entry.action}>
        <td>{new Date(entry.at).toLocaleString()}</td>
        <td title={entry.actor_key_id ?? undefined}>{props.actor}</td>
        <td>
          <code>{entry.action}</code>
        </td>
        <td>
          {entry.target_type} <span className="muted small">{entry.target_id}</span>
        </td>
        <td>{summaryOf(entry)}</td>
        <td className="muted small">
          {entry.request_id ?? '—'}
          {entry.source_ip !== null && ` · ${entry.source_ip}`}
        </td>
        <td>
          <button className="link" onClick={props.onToggle}>
            {props.isOpen ? 'Hide' : 'Details'}
          </button>
        </td>
      </tr>
      {props.isOpen && (
        <tr className="audit-detail">
          <td colSpan={7}>
            <div className="before-after">
              <div>
                <strong>Before</strong>
                <pre>{entry.before === null ? '(none)' : JSON.stringify(entry.before, null, 2)}</pre>
              </div>
              <div>
                <strong>After</strong>
                <pre>{entry.after === null ? '(none)' : JSON.stringify(entry.after, null, 2)}</pre>
              </div>
            </div>
          </td>
        </tr>
      )}
    </>
  );
}
