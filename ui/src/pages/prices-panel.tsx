import { useEffect, useState, type FormEvent } from 'react';
import { api, canChange, messageOf, type Session } from '../api.ts';
import { ManagedBadge } from '../components/managed-badge.tsx';
import { ErrorNote } from '../components/modal.tsx';

interface PriceRecord {
  model: string;
  currency: string;
  input_per_million: number | null;
  output_per_million: number | null;
  per_hour: number | null;
  managed_by: 'fleet_file' | null;
}

const path = (model: string) => `/api/v1/prices/${model.split('/').map(encodeURIComponent).join('/')}`;
const show = (value: number | null) => (value === null ? '—' : String(value));

/** What each model costs (per million tokens in and out, or per hour of a server); usage above shows what requests cost. */
export function PricesPanel(props: { session: Session }) {
  const [prices, setPrices] = useState<PriceRecord[]>([]);
  const [currency, setCurrency] = useState('USD');
  const [error, setError] = useState<string | null>(null);
  const [form, setForm] = useState({ model: '', input: '', output: '', hour: '' });
  const admin = canChange(props.session);
  const load = () =>
    api<{ currency: string; data: PriceRecord[] }>('GET', '/api/v1/prices').then(
      (answer) => {
        setPrices(answer.data);
        setCurrency(answer.currency);
      },
      (caught: unknown) => setError(messageOf(caught, 'Could not load prices.')),
    );
  useEffect(() => void load(), []);
  const save = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    const body: Record<string, number> = {};
    if (form.input !== '') body['input_per_million'] = Number(form.input);
    if (form.output !== '') body['output_per_million'] = Number(form.output);
    if (form.hour !== '') body['per_hour'] = Number(form.hour);
    try {
      await api('PUT', path(form.model.trim()), body);
      setForm({ model: '', input: '', output: '', hour: '' });
      await load();
    } catch (caught) {
      setError(messageOf(caught, 'Could not save the price.'));
    }
  };
  const remove = async (model: string) => {
    try {
      await api('DELETE', path(model));
      await load();
    } catch (caught) {
      setError(messageOf(caught, 'Could not delete the price.'));
    }
  };
  return (
    <section aria-labelledby="prices-heading">
      <h2 id="prices-heading">Prices ({currency})</h2>
      <ErrorNote error={error} />
      <table aria-label="Prices">
        <thead>
          <tr>
            <th>Model</th>
            <th>Input / 1M tokens</th>
            <th>Output / 1M tokens</th>
            <th>Per hour of a server</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {prices.map((price) => (
            <tr key={price.model} data-testid={`price-${price.model}`}>
              <td>
                {price.model} {price.managed_by === 'fleet_file' && <ManagedBadge />}
              </td>
              <td>{show(price.input_per_million)}</td>
              <td>{show(price.output_per_million)}</td>
              <td>{show(price.per_hour)}</td>
              <td>
                {admin && price.managed_by === null && (
                  <button className="link danger" onClick={() => void remove(price.model)}>
                    Delete
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {admin && (
        <form aria-label="Set a price" className="inline-form" onSubmit={(event) => void save(event)}>
          <label>
            Model
            <input name="model" value={form.model} onChange={(event) => setForm({ ...form, model: event.target.value })} required />
          </label>
          <label>
            Input / 1M
            <input name="input" type="number" step="any" min={0} value={form.input} onChange={(event) => setForm({ ...form, input: event.target.value })} />
          </label>
          <label>
            Output / 1M
            <input name="output" type="number" step="any" min={0} value={form.output} onChange={(event) => setForm({ ...form, output: event.target.value })} />
          </label>
          <label>
            Per hour
            <input name="hour" type="number" step="any" min={0} value={form.hour} onChange={(event) => setForm({ ...form, hour: event.target.value })} />
          </label>
          <button type="submit" className="primary">
            Set price
          </button>
        </form>
      )}
    </section>
  );
}
