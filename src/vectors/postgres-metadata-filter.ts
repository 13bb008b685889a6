import type { MetadataFilter } from './vector-store.ts';

/**
 * A metadata filter as a PostgreSQL condition on a jsonb column: each value
 * is a containment test (`metadata @> '{"field": value}'`), which keeps JSON
 * types apart (true is not 1) and is what a GIN jsonb_path_ops index serves.
 * Parameters are numbered from `firstParam`.
 */
export function postgresMetadataCondition(column: string, filter: MetadataFilter | undefined, firstParam: number): { sql: string; params: string[] } {
  const conditions: string[] = [];
  const params: string[] = [];
  for (const [field, expected] of Object.entries(filter ?? {})) {
    const values = expected !== null && typeof expected === 'object' ? expected.in : [expected];
    if (values.length === 0) {
      conditions.push('false');
      continue;
    }
    const alternatives = values.map((value) => {
      params.push(JSON.stringify({ [field]: value }));
      return `${column} @> $${firstParam + params.length - 1}::jsonb`;
    });
    conditions.push(alternatives.length === 1 ? (alternatives[0] as string) : `(${alternatives.join(' OR ')})`);
  }
  return { sql: conditions.length === 0 ? 'true' : conditions.join(' AND '), params };
}
