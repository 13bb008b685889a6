import type { MetadataFilter, MetadataValue } from './vector-store.ts';

export interface SqlCondition {
  sql: string;
  params: unknown[];
}

/**
 * A metadata filter as an SQLite condition on a JSON text column. json_each
 * takes the field name as a bound value (any name is safe, dots and quotes
 * included), and its `type` column keeps JSON types apart: `true` matches a
 * JSON true, never the number 1, as in PostgreSQL's jsonb and in Qdrant.
 */
export function sqliteMetadataCondition(column: string, filter: MetadataFilter | undefined): SqlCondition {
  const conditions: string[] = [];
  const params: unknown[] = [];
  for (const [field, expected] of Object.entries(filter ?? {})) {
    const values = isMembership(expected) ? expected.in : [expected];
    if (values.length === 0) {
      conditions.push('0');
      continue;
    }
    const valueParams: unknown[] = [];
    const alternatives = values.map((value) => valueCondition(value, valueParams));
    conditions.push(`EXISTS (SELECT 1 FROM json_each(${column}) AS field WHERE field.key = ? AND (${alternatives.join(' OR ')}))`);
    params.push(field, ...valueParams);
  }
  return { sql: conditions.length === 0 ? '1' : conditions.join(' AND '), params };
}

function isMembership(value: MetadataValue | { in: MetadataValue[] }): value is { in: MetadataValue[] } {
  return value !== null && typeof value === 'object';
}

function valueCondition(value: MetadataValue, params: unknown[]): string {
  if (value === null) return `field.type = 'null'`;
  if (typeof value === 'boolean') return value ? `field.type = 'true'` : `field.type = 'false'`;
  params.push(value);
  return typeof value === 'number' ? `(field.type IN ('integer', 'real') AND field.atom = ?)` : `(field.type = 'text' AND field.atom = ?)`;
}

