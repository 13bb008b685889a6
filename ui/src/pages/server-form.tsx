import { useEffect, useState } from 'react';
import { api, ApiError, type KindConfigField, type ServerKindInfo, type ServerRecord } from '../api.ts';
import { Modal } from '../components/modal.tsx';
import { FormActions } from '../components/form-actions.tsx';

const baseFields = ['name', 'server_type', 'base_url', 'api_key', 'health_check_interval_s', 'max_concurrency'];

/** A stored setting as the form's text: lists comma-separated, JSON pretty-printed. */
function settingText(field: KindConfigField, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (field.type === 'list' && Array.isArray(value)) return value.join(', ');
  if (field.type === 'json') return JSON.stringify(value, null, 2);
  return String(value);
}

/** The form's text back into settings; null when a JSON field does not parse (reported on that field). */
function settingsFrom(fields: readonly KindConfigField[], texts: Record<string, string>): { value: Record<string, unknown> } | { field: string } {
  const value: Record<string, unknown> = {};
  for (const field of fields) {
    const text = (texts[field.name] ?? '').trim();
    if (text === '') continue;
    if (field.type === 'list') value[field.name] = text.split(',').map((item) => item.trim()).filter((item) => item !== '');
    else if (field.type === 'json') {
      try {
        value[field.name] = JSON.parse(text) as unknown;
      } catch {
        return { field: field.name };
      }
    } else value[field.name] = text;
  }
  return { value };
}

/** Add or edit a server. The kinds, and the settings each takes, come from the gateway. */
export function ServerForm(props: { server: ServerRecord | null; onClose: () => void; onSaved: (server: ServerRecord) => void }) {
  const editing = props.server;
  const [kinds, setKinds] = useState<ServerKindInfo[]>([]);
  const [name, setName] = useState(editing?.name ?? '');
  const [kind, setKind] = useState(editing?.server_type ?? 'auto');
  const [url, setUrl] = useState(editing?.base_url ?? '');
  const [key, setKey] = useState('');
  const [interval, setInterval] = useState(String(editing?.health_check_interval_s ?? 30));
  const [concurrency, setConcurrency] = useState(editing?.max_concurrency == null ? '' : String(editing.max_concurrency));
  const [settings, setSettings] = useState<Record<string, string>>({});
  const [error, setError] = useState<{ message: string; param: string | null } | null>(null);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    api<{ data: ServerKindInfo[] }>('GET', '/api/v1/server-kinds').then(
      (answer) => {
        setKinds(answer.data);
        const current = answer.data.find((entry) => entry.id === editing?.server_type);
        if (current !== undefined && editing?.kind_config != null) {
          const stored = editing.kind_config;
          setSettings(Object.fromEntries(current.config_fields.map((field) => [field.name, settingText(field, stored[field.name])])));
        }
      },
      () => setError({ message: 'Could not load the list of server kinds.', param: null }),
    );
  }, [editing]);

  const selected = kinds.find((entry) => entry.id === kind);
  const fields = selected?.config_fields ?? [];

  const save = async () => {
    setError(null);
    const body: Record<string, unknown> = { name, server_type: kind, base_url: url, health_check_interval_s: Number(interval) };
    if (key !== '') body['api_key'] = key;
    // Empty: learn it from the server (null clears a stated value when editing).
    if (concurrency.trim() !== '') body['max_concurrency'] = Number(concurrency);
    else if (editing?.max_concurrency != null) body['max_concurrency'] = null;
    if (fields.length > 0) {
      const parsed = settingsFrom(fields, settings);
      if ('field' in parsed) {
        setError({ message: 'This is not valid JSON.', param: `kind_config.${parsed.field}` });
        return;
      }
      body['kind_config'] = parsed.value;
    }
    setSaving(true);
    try {
      const server = editing === null ? await api<ServerRecord>('POST', '/api/v1/model-servers', body) : await api<ServerRecord>('PUT', `/api/v1/model-servers/${editing.id}`, body);
      props.onSaved(server);
    } catch (caught) {
      setError(caught instanceof ApiError ? { message: caught.message, param: caught.param } : { message: 'Saving failed.', param: null });
    } finally {
      setSaving(false);
    }
  };
  const fieldError = (param: string) => (error?.param === param ? <span className="field-error">{error.message}</span> : null);
  const shownInline = error?.param != null && (baseFields.includes(error.param) || fields.some((field) => `kind_config.${field.name}` === error.param));
  return (
    <Modal title={editing === null ? 'Add a model server' : `Edit ${editing.name}`} onClose={props.onClose}>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void save();
        }}
      >
        <label>
          Name
          <input name="name" value={name} onChange={(event) => setName(event.target.value)} placeholder="gpu-1" required />
          {fieldError('name')}
        </label>
        <label>
          Kind
          <select name="server_type" value={kind} onChange={(event) => setKind(event.target.value)}>
            <option value="auto">detect automatically</option>
            {kinds.map((option) => (
              <option key={option.id} value={option.id} title={option.description}>
                {option.label}
              </option>
            ))}
          </select>
          {selected !== undefined && <span className="muted">{selected.description}</span>}
          {fieldError('server_type')}
        </label>
        <label>
          URL
          <input name="base_url" value={url} onChange={(event) => setUrl(event.target.value)} placeholder="http://10.0.0.12:8000" required />
          {fieldError('base_url')}
        </label>
        <label>
          API key {editing?.has_api_key === true && <span className="muted">(stored; leave empty to keep it)</span>}
          <input name="api_key" type="password" value={key} onChange={(event) => setKey(event.target.value)} autoComplete="off" />
          {fieldError('api_key')}
        </label>
        <label>
          Health check every (seconds)
          <input name="interval" type="number" min={1} value={interval} onChange={(event) => setInterval(event.target.value)} />
          {fieldError('health_check_interval_s')}
        </label>
        <label>
          Max concurrency <span className="muted">(requests at once; empty: what the server reports or the gateway learns — Ollama says neither: give its OLLAMA_NUM_PARALLEL)</span>
          <input name="max_concurrency" type="number" min={1} step={1} value={concurrency} onChange={(event) => setConcurrency(event.target.value)} />
          {fieldError('max_concurrency')}
        </label>
        {fields.length > 0 && (
          <fieldset data-testid="kind-settings">
            <legend>{selected?.label} settings</legend>
            {fields.map((field) => (
              <label key={field.name}>
                {field.label}
                {field.required && ' *'}
                {field.type === 'select' ? (
                  <select name={`kind_config.${field.name}`} value={settings[field.name] ?? ''} onChange={(event) => setSettings({ ...settings, [field.name]: event.target.value })}>
                    <option value="">(default)</option>
                    {(field.options ?? []).map((option) => (
                      <option key={option} value={option}>
                        {option}
                      </option>
                    ))}
                  </select>
                ) : field.type === 'json' ? (
                  <textarea name={`kind_config.${field.name}`} rows={4} value={settings[field.name] ?? ''} placeholder={field.placeholder} onChange={(event) => setSettings({ ...settings, [field.name]: event.target.value })} />
                ) : (
                  <input name={`kind_config.${field.name}`} value={settings[field.name] ?? ''} placeholder={field.placeholder} onChange={(event) => setSettings({ ...settings, [field.name]: event.target.value })} />
                )}
                {field.help !== undefined && <span className="muted">{field.help}</span>}
                {fieldError(`kind_config.${field.name}`)}
              </label>
            ))}
          </fieldset>
        )}
        {error !== null && !shownInline && <p className="error">{error.message}</p>}
        <FormActions saving={saving} onCancel={props.onClose} />
      </form>
    </Modal>
  );
}
