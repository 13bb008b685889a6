import type { Kysely } from 'kysely';
import type { Actor } from '../../domain/audit.ts';
import type { ManagedBy } from '../../domain/model-server.ts';
import { modelNameProblem } from '../../domain/model-name.ts';
import { errors } from '../../errors/error-catalogue.ts';
import { withAudit } from '../../storage/audit-store.ts';
import type { DatabaseSchema, ModelPricesTable } from '../../storage/database-schema.ts';

/** What `PUT /api/v1/prices/{model}` and the fleet file's `prices:` say, in the gateway's currency. */
export interface PriceInput {
  input_per_million?: number;
  output_per_million?: number;
  per_hour?: number;
}

export interface Price {
  model: string;
  inputPerMillion: number | null;
  outputPerMillion: number | null;
  perHour: number | null;
  managedBy: ManagedBy;
  createdAt: string;
  updatedAt: string;
}

/**
 * Prices per model, held in memory for the request path (one Map lookup per
 * usage record), committed to storage first. A request costs its prompt and
 * completion tokens at the per-million prices, plus, for an hourly price,
 * the share of an hour it held the server (its duration; idle time is not
 * charged to anyone). See docs/decisions/0022.
 */
export class PriceBook {
  readonly #db: Kysely<DatabaseSchema>;
  #byModel = new Map<string, Price>();

  constructor(db: Kysely<DatabaseSchema>) {
    this.#db = db;
  }

  async load(): Promise<void> {
    this.#byModel = new Map((await this.#db.selectFrom('model_prices').selectAll().execute()).map((row) => [row.model, fromRow(row)]));
  }

  list(): Price[] {
    return [...this.#byModel.values()].sort((a, b) => a.model.localeCompare(b.model));
  }

  get(model: string): Price | undefined {
    return this.#byModel.get(model);
  }

  require(model: string): Price {
    const price = this.#byModel.get(model);
    if (price === undefined) throw errors.notFound(`Price for "${model}"`);
    return price;
  }

  /** The price that applies to a served model id: its own, else the name it answers to (`mixtral` for `mixtral:latest`). */
  priceOf(modelId: string): Price | undefined {
    if (this.#byModel.size === 0) return undefined;
    return this.#byModel.get(modelId) ?? (modelId.endsWith(':latest') ? this.#byModel.get(modelId.slice(0, -':latest'.length)) : undefined);
  }

  /** What a request cost; null when its model has no price. */
  costOf(modelId: string | null, promptTokens: number, completionTokens: number, latencyMs: number): number | null {
    if (modelId === null) return null;
    const price = this.priceOf(modelId);
    if (price === undefined) return null;
    const cost = (promptTokens * (price.inputPerMillion ?? 0) + completionTokens * (price.outputPerMillion ?? 0)) / 1e6 + ((price.perHour ?? 0) * latencyMs) / 3.6e6;
    return Math.round(cost * 1e9) / 1e9;
  }

  async put(model: string, input: PriceInput, options: { managedBy?: ManagedBy; actor?: Actor } = {}): Promise<{ price: Price; created: boolean }> {
    validate(model, input);
    const current = this.#byModel.get(model);
    const now = new Date().toISOString();
    const price: Price = { model, inputPerMillion: input.input_per_million ?? null, outputPerMillion: input.output_per_million ?? null, perHour: input.per_hour ?? null, managedBy: options.managedBy ?? current?.managedBy ?? 'api', createdAt: current?.createdAt ?? now, updatedAt: now };
    const audit = options.actor === undefined ? undefined : { actor: options.actor, action: current === undefined ? 'price.create' : 'price.update', targetType: 'model' as const, targetId: model, before: current ?? null, after: price };
    const row = toRow(price);
    await withAudit(this.#db, audit, async (executor) => {
      if (current === undefined) await executor.insertInto('model_prices').values(row).execute();
      else {
        const { model: _model, created_at: _createdAt, ...fields } = row;
        await executor.updateTable('model_prices').set(fields).where('model', '=', model).execute();
      }
    });
    this.#byModel.set(model, price);
    return { price, created: current === undefined };
  }

  async remove(model: string, actor?: Actor): Promise<void> {
    const current = this.require(model);
    await withAudit(this.#db, actor === undefined ? undefined : { actor, action: 'price.delete', targetType: 'model', targetId: model, before: current, after: null }, (executor) =>
      executor.deleteFrom('model_prices').where('model', '=', model).execute(),
    );
    this.#byModel.delete(model);
  }
}

function validate(model: string, input: PriceInput): void {
  const problem = modelNameProblem(model);
  if (problem !== null) throw errors.invalidRequest(`model ${problem}.`, 'model');
  const fields = ['input_per_million', 'output_per_million', 'per_hour'] as const;
  if (fields.every((field) => input[field] === undefined)) throw errors.invalidRequest('Give input_per_million and output_per_million (per million tokens), or per_hour (per hour of a server).', 'input_per_million');
  for (const field of fields) {
    const value = input[field];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) throw errors.invalidRequest(`${field} must be a number of 0 or more.`, field);
  }
}

function toRow(price: Price): ModelPricesTable {
  return { model: price.model, input_per_million: price.inputPerMillion, output_per_million: price.outputPerMillion, per_hour: price.perHour, managed_by: price.managedBy, created_at: price.createdAt, updated_at: price.updatedAt };
}

function fromRow(row: ModelPricesTable): Price {
  const number = (value: number | null) => (value === null ? null : Number(value));
  return { model: row.model, inputPerMillion: number(row.input_per_million), outputPerMillion: number(row.output_per_million), perHour: number(row.per_hour), managedBy: row.managed_by as ManagedBy, createdAt: row.created_at, updatedAt: row.updated_at };
}
