import { useState } from 'react';
import { api, ApiError, type KeyRecord } from '../api.ts';
import { Modal } from '../components/modal.tsx';

const scopeChoices = [
  ['inference', 'inference (/v1 only)'],
  ['read', 'read (view everything)'],
  ['vectors:write', 'vectors:write (store vectors, manage collections)'],
  ['admin', 'admin (everything)'],
] as const;

type FieldError = { message: string; param: string | null };

/** An ISO time as a datetime-local input's value, in the browser's time zone. */
function localInputValue(iso: string | null): string {
  if (iso === null) return '';
  const time = new Date(iso);
  return new Date(time.getTime() - time.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** An optional whole number from a text field: null when empty, an error message when not a whole number. */
function wholeNumber(text: string, minimum: number, label: string): { value: number | null } | { error: string } {
  if (text.trim() === '') return { value: null };
  const value = Number(text);
  return Number.isInteger(value) && value >= minimum ? { value } : { error: `${label} must be a whole number of at least ${minimum}.` };
}

/** Everything the form holds as the API's body, or the field that is wrong. */
function keyBody(fields: { name: string; scopes: string[]; models: string; rpm: string; tpm: string; budget: string; budgetCost: string; expires: string; metadata: string }): { body: Record<string, unknown> } | { error: FieldError } {
  if (fields.scopes.length === 0) return { error: { message: 'Choose at least one scope.', param: 'scopes' } };
  const models = fields.models.split(/[,\n]/).map((model) => model.trim()).filter((model) => model !== '');
  const limits: Record<string, number | null> = {};
  for (const [param, text, minimum, label] of [
    ['rpm', fields.rpm, 1, 'Requests per minute'],
    ['tpm', fields.tpm, 1, 'Tokens per minute'],
    ['budget_tokens', fields.budget, 0, 'The token budget'],
  ] as const) {
    const parsed = wholeNumber(text, minimum, label);
    if ('error' in parsed) return { error: { message: parsed.error, param } };
    limits[param] = parsed.value;
  }
  // A budget in currency takes cents: any number of at least 0.
  const budgetCost = fields.budgetCost.trim() === '' ? null : Number(fields.budgetCost);
  if (budgetCost !== null && !(Number.isFinite(budgetCost) && budgetCost >= 0)) return { error: { message: 'The budget in currency must be a number of at least 0.', param: 'budget_cost' } };
  limits['budget_cost'] = budgetCost;
  let metadata: unknown = {};
  if (fields.metadata.trim() !== '') {
    try {
      metadata = JSON.parse(fields.metadata) as unknown;
    } catch {
      metadata = null;
    }
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) return { error: { message: 'Metadata must be a JSON object, e.g. {"team": "search"}.', param: 'metadata' } };
  }
  const expiresAt = fields.expires === '' ? null : new Date(fields.expires).toISOString();
  return { body: { name: fields.name, scopes: fields.scopes, models: models.length === 0 ? null : models, ...limits, expires_at: expiresAt, metadata } };
}

/**
 * Create a key, or change one: every field the keys API takes. Empty limits
 * mean none; an empty allow-list means every model.
 */
export function KeyForm(props: { keyRecord: KeyRecord | null; onClose: () => void; onSaved: (saved: KeyRecord & { key?: string }) => void }) {
  const editing = props.keyRecord;
  const [name, setName] = useState(editing?.name ?? '');
  const [scopes, setScopes] = useState<string[]>(editing?.scopes ?? ['inference']);
  const [models, setModels] = useState(editing?.models?.join(', ') ?? '');
  const [rpm, setRpm] = useState(editing?.rpm?.toString() ?? '');
  const [tpm, setTpm] = useState(editing?.tpm?.toString() ?? '');
  const [budget, setBudget] = useState(editing?.budget_tokens?.toString() ?? '');
  const [budgetCost, setBudgetCost] = useState(editing?.budget_cost?.toString() ?? '');
  const [priority, setPriority] = useState(editing?.priority ?? 'standard');
  const [expires, setExpires] = useState(localInputValue(editing?.expires_at ?? null));
  const [metadata, setMetadata] = useState(editing === null || Object.keys(editing.metadata).length === 0 ? '' : JSON.stringify(editing.metadata, null, 2));
  const [error, setError] = useState<FieldError | null>(null);
  const [saving, setSaving] = useState(false);

  const save = async () => {
    setError(null);
    const parsed = keyBody({ name, scopes, models, rpm, tpm, budget, budgetCost, expires, metadata });
    if ('error' in parsed) {
      setError(parsed.error);
      return;
    }
    setSaving(true);
    try {
      const saved =
        editing === null ? await api<KeyRecord & { key: string }>('POST', '/api/v1/keys', { ...parsed.body, priority }) : await api<KeyRecord>('PATCH', `/api/v1/keys/${editing.id}`, { ...parsed.body, priority });
      props.onSaved(saved);
    } catch (caught) {
      setError(caught instanceof ApiError ? { message: caught.message, param: caught.param } : { message: 'Saving failed.', param: null });
    } finally {
      setSaving(false);
    }
  };
  const fieldOf = (param: string | null) => param?.split('.')[0] ?? null;
  const fieldError = (field: string) => (fieldOf(error?.param ?? null) === field ? <span className="field-error">{error?.message}</span> : null);
  const shownInline = ['name', 'scopes', 'models', 'rpm', 'tpm', 'budget_tokens', 'budget_cost', 'priority', 'expires_at', 'metadata'].includes(fieldOf(error?.param ?? null) ?? '');
  return (
    <Modal title={editing === null ? 'Create a key' : `Edit ${editing.name}`} onClose={props.onClose}>
      <form
        className="key-form"
        onSubmit={(event) => {
          event.preventDefault();
          void save();
        }}
      >
        <label className="wide">
          Name
          <input name="key-name" placeholder="search-app" value={name} onChange={(event) => setName(event.target.value)} required />
          {fieldError('name')}
        </label>
        <fieldset className="wide">
          <legend>Scopes</legend>
          {scopeChoices.map(([scope, label]) => (
            <label key={scope} className="check">
              <input
                type="checkbox"
                name="key-scope"
                value={scope}
                checked={scopes.includes(scope)}
                onChange={(event) => setScopes(event.target.checked ? [...scopes, scope] : scopes.filter((entry) => entry !== scope))}
              />
              {label}
            </label>
          ))}
          {fieldError('scopes')}
        </fieldset>
        <label className="wide">
          Model allow-list <span className="muted">(comma-separated names or globs like mixtral*; empty: every model)</span>
          <input name="key-models" placeholder="mixtral*, nomic-embed-text" value={models} onChange={(event) => setModels(event.target.value)} />
          {fieldError('models')}
        </label>
        <label>
          Requests per minute
          <input name="key-rpm" type="number" min={1} step={1} placeholder="no limit" value={rpm} onChange={(event) => setRpm(event.target.value)} />
          {fieldError('rpm')}
        </label>
        <label>
          Tokens per minute
          <input name="key-tpm" type="number" min={1} step={1} placeholder="no limit" value={tpm} onChange={(event) => setTpm(event.target.value)} />
          {fieldError('tpm')}
        </label>
        <label>
          Token budget <span className="muted">(in all)</span>
          <input name="key-budget" type="number" min={0} step={1} placeholder="no budget" value={budget} onChange={(event) => setBudget(event.target.value)} />
          {fieldError('budget_tokens')}
        </label>
        <label>
          Budget in currency <span className="muted">(at the models' prices, in all)</span>
          <input name="key-budget-cost" type="number" min={0} step="any" placeholder="no budget" value={budgetCost} onChange={(event) => setBudgetCost(event.target.value)} />
          {fieldError('budget_cost')}
        </label>
        <label>
          Priority <span className="muted">(its turns when a model's servers are all busy)</span>
          <select name="key-priority" value={priority} onChange={(event) => setPriority(event.target.value as 'interactive' | 'standard' | 'batch')}>
            <option value="interactive">interactive</option>
            <option value="standard">standard</option>
            <option value="batch">batch</option>
          </select>
          {fieldError('priority')}
        </label>
        <label>
          Expires <span className="muted">(empty: never)</span>
          <input name="key-expires" type="datetime-local" value={expires} onChange={(event) => setExpires(event.target.value)} />
          {fieldError('expires_at')}
        </label>
        <label className="wide">
          Metadata <span className="muted">(JSON object, optional)</span>
          <textarea name="key-metadata" rows={2} placeholder='{"team": "search"}' value={metadata} onChange={(event) => setMetadata(event.target.value)} />
          {fieldError('metadata')}
        </label>
        {error !== null && !shownInline && <p className="error wide">{error.message}</p>}
        <div className="actions wide">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button className="primary" type="submit" disabled={saving}>
            {saving ? 'Saving…' : editing === null ? 'Create key' : 'Save'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
