import { useEffect, useState } from 'react';
import { api, ApiError, routingStrategies, type RouteRecord } from '../api.ts';
import { Modal } from '../components/modal.tsx';
import { FormActions } from '../components/form-actions.tsx';

interface TargetRow {
  model: string;
  weight: string;
  tier: string;
}

const emptyTarget: TargetRow = { model: '', weight: '1', tier: '1' };

/** A comma-separated list as the API's array, blanks dropped. */
function listFrom(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** The form's fields as the API's body, or the field that is wrong and why. */
function bodyFrom(fields: { name: string; strategy: string; targets: TargetRow[]; fallbacks: string; metadata: string }): { body: Record<string, unknown> } | { param: string; message: string } {
  const targets = [];
  for (const [index, row] of fields.targets.entries()) {
    if (row.model.trim() === '') continue;
    const weight = Number(row.weight);
    const tier = Number(row.tier);
    if (!(weight > 0)) return { param: `targets.${index}`, message: 'A weight is a number above 0.' };
    if (!Number.isInteger(tier) || tier < 1 || tier > 100) return { param: `targets.${index}`, message: 'A tier is a whole number from 1 (tried first) to 100.' };
    targets.push({ model: row.model.trim(), weight, tier });
  }
  if (targets.length === 0) return { param: 'targets', message: 'Name at least one model to send traffic to.' };
  let metadata: unknown = {};
  if (fields.metadata.trim() !== '') {
    try {
      metadata = JSON.parse(fields.metadata) as unknown;
    } catch {
      return { param: 'metadata', message: 'This is not valid JSON.' };
    }
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return { param: 'metadata', message: 'Metadata is a JSON object, e.g. {"team": "search"}.' };
  }
  return { body: { name: fields.name.trim(), strategy: fields.strategy === '' ? null : fields.strategy, targets, fallbacks: listFrom(fields.fallbacks), metadata } };
}

/** Create or edit a route: its alias, strategy, weighted and tiered targets, fallback chain and metadata. */
export function RouteForm(props: { route: RouteRecord | null; onClose: () => void; onSaved: (route: RouteRecord) => void }) {
  const editing = props.route;
  const [models, setModels] = useState<string[]>([]);
  const [name, setName] = useState(editing?.name ?? '');
  const [strategy, setStrategy] = useState(editing?.strategy ?? '');
  const [targets, setTargets] = useState<TargetRow[]>(editing === null ? [emptyTarget] : editing.targets.map((target) => ({ model: target.model, weight: String(target.weight), tier: String(target.tier) })));
  const [fallbacks, setFallbacks] = useState(editing?.fallbacks.join(', ') ?? '');
  const [metadata, setMetadata] = useState(editing === null || Object.keys(editing.metadata).length === 0 ? '' : JSON.stringify(editing.metadata, null, 2));
  const [error, setError] = useState<{ message: string; param: string | null } | null>(null);
  const [saving, setSaving] = useState(false);

  // Suggestions only: a route may name a model no server has yet (it is then shown unresolved).
  useEffect(() => {
    api<{ data: Array<{ id: string }> }>('GET', '/api/v1/models/registry').then(
      (answer) => setModels(answer.data.map((model) => model.id)),
      () => setModels([]),
    );
  }, []);

  const setTarget = (index: number, change: Partial<TargetRow>) => setTargets(targets.map((row, position) => (position === index ? { ...row, ...change } : row)));
  const save = async () => {
    setError(null);
    const parsed = bodyFrom({ name, strategy, targets, fallbacks, metadata });
    if ('param' in parsed) {
      setError(parsed);
      return;
    }
    setSaving(true);
    try {
      const route = editing === null ? await api<RouteRecord>('POST', '/api/v1/routes', parsed.body) : await api<RouteRecord>('PUT', `/api/v1/routes/${editing.id}`, parsed.body);
      props.onSaved(route);
    } catch (caught) {
      setError(caught instanceof ApiError ? { message: caught.message, param: caught.param } : { message: 'Saving failed.', param: null });
    } finally {
      setSaving(false);
    }
  };
  const fieldError = (param: string) => (error?.param === param ? <span className="field-error">{error.message}</span> : null);
  const shownInline = error?.param != null && (['name', 'strategy', 'targets', 'fallbacks', 'metadata'].includes(error.param) || error.param.startsWith('targets.'));
  return (
    <Modal title={editing === null ? 'Add a route' : `Edit route ${editing.name}`} onClose={props.onClose}>
      <form
        className="route-form"
        onSubmit={(event) => {
          event.preventDefault();
          void save();
        }}
      >
        <label>
          Name <span className="muted">(the model name callers ask for)</span>
          <input name="route-name" value={name} onChange={(event) => setName(event.target.value)} placeholder="gpt-4o" required />
          {fieldError('name')}
        </label>
        <label>
          Strategy
          <select name="strategy" value={strategy} onChange={(event) => setStrategy(event.target.value)}>
            <option value="">gateway default</option>
            {routingStrategies.map((option) => (
              <option key={option} value={option}>
                {option}
              </option>
            ))}
          </select>
          <span className="muted">How traffic is spread over the targets: weights count for weighted; tiers count for priority (tier 1 first, tier 2 only when tier 1 cannot serve).</span>
          {fieldError('strategy')}
        </label>
        <fieldset className="targets" data-testid="route-targets">
          <legend>Targets</legend>
          <datalist id="known-models">
            {models.map((model) => (
              <option key={model} value={model} />
            ))}
          </datalist>
          {targets.map((row, index) => (
            <div className="target-row" key={index}>
              <label>
                Model
                <input name={`target-model-${index}`} list="known-models" value={row.model} onChange={(event) => setTarget(index, { model: event.target.value })} placeholder="mixtral:latest" />
              </label>
              <label>
                Weight
                <input name={`target-weight-${index}`} type="number" min={0} step="any" value={row.weight} onChange={(event) => setTarget(index, { weight: event.target.value })} />
              </label>
              <label>
                Tier
                <input name={`target-tier-${index}`} type="number" min={1} max={100} value={row.tier} onChange={(event) => setTarget(index, { tier: event.target.value })} />
              </label>
              <button type="button" className="link" aria-label={`Remove target ${index + 1}`} onClick={() => setTargets(targets.filter((_, position) => position !== index))} disabled={targets.length === 1}>
                Remove
              </button>
              {fieldError(`targets.${index}`)}
            </div>
          ))}
          <button type="button" onClick={() => setTargets([...targets, emptyTarget])}>
            Add target
          </button>
          {fieldError('targets')}
        </fieldset>
        <label>
          Fallbacks <span className="muted">(models tried in order when no target can answer; comma-separated)</span>
          <input name="fallbacks" list="known-models" value={fallbacks} onChange={(event) => setFallbacks(event.target.value)} placeholder="yi34b, phi3" />
          {fieldError('fallbacks')}
        </label>
        <label>
          Metadata <span className="muted">(optional JSON object)</span>
          <textarea name="metadata" rows={3} value={metadata} onChange={(event) => setMetadata(event.target.value)} placeholder='{"team": "search"}' />
          {fieldError('metadata')}
        </label>
        {error !== null && !shownInline && <p className="error">{error.message}</p>}
        <FormActions saving={saving} onCancel={props.onClose} />
      </form>
    </Modal>
  );
}
