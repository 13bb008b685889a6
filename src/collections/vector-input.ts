import { errors } from '../errors/error-catalogue.ts';
import type { MetadataFilter, MetadataValue } from '../vectors/vector-store.ts';

/** One item of a store request, checked: exactly one of text and vector. */
export interface StoreItem {
  id: string | null;
  text: string | null;
  vector: number[] | null;
  metadata: Record<string, unknown>;
}

const maxIdLength = 256;
const maxFilterFields = 32;
const maxInValues = 1_000;
export const maxTopK = 1_000;
const fieldPattern = /^[A-Za-z0-9_.-]{1,128}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{items: [...]}` or `{texts: [...]}`, each item checked; throws the 400/413 a caller should see. */
export function parseStoreItems(body: unknown, maxItems: number): StoreItem[] {
  if (!isRecord(body)) throw errors.invalidRequest('The body must be a JSON object with `items` or `texts`.');
  const hasItems = body['items'] !== undefined;
  const hasTexts = body['texts'] !== undefined;
  if (hasItems === hasTexts) throw errors.invalidRequest('Send either `items` or `texts`, not both and not neither.', hasItems ? 'texts' : 'items');
  const param = hasItems ? 'items' : 'texts';
  const list = body[param];
  if (!Array.isArray(list)) throw errors.invalidRequest(`\`${param}\` must be a list.`, param);
  if (list.length === 0) throw errors.invalidRequest(`\`${param}\` is empty: send at least one.`, param);
  if (list.length > maxItems) throw errors.tooManyItems(maxItems, list.length, param);
  for (const key of Object.keys(body)) if (key !== param) throw errors.invalidRequest(`Unknown field \`${key}\`.`, key);
  return hasTexts ? list.map((text, position) => ({ id: null, text: checkText(text, `texts.${position}`), vector: null, metadata: {} })) : list.map(parseItem);
}

function parseItem(item: unknown, position: number): StoreItem {
  const where = `items.${position}`;
  if (!isRecord(item)) throw errors.invalidRequest(`${where} must be an object with \`text\` or \`vector\`.`, where);
  for (const key of Object.keys(item)) if (!['id', 'text', 'vector', 'metadata'].includes(key)) throw errors.invalidRequest(`${where}: unknown field \`${key}\`.`, `${where}.${key}`);
  const id = item['id'] === undefined || item['id'] === null ? null : checkId(item['id'], `${where}.id`);
  const hasText = item['text'] !== undefined && item['text'] !== null;
  const hasVector = item['vector'] !== undefined && item['vector'] !== null;
  if (hasText === hasVector) throw errors.invalidRequest(`${where} needs exactly one of \`text\` and \`vector\`.`, where);
  const metadata = item['metadata'] ?? {};
  if (!isRecord(metadata)) throw errors.invalidRequest(`${where}.metadata must be an object.`, `${where}.metadata`);
  return {
    id,
    text: hasText ? checkText(item['text'], `${where}.text`) : null,
    vector: hasVector ? parseVector(item['vector'], `${where}.vector`) : null,
    metadata,
  };
}

function checkText(text: unknown, param: string): string {
  if (typeof text !== 'string') throw errors.invalidRequest(`${param} must be a string.`, param);
  if (text.trim() === '') throw errors.invalidRequest(`${param} is empty: there is nothing to embed.`, param);
  return text;
}

export function checkId(id: unknown, param: string): string {
  if (typeof id !== 'string' || id === '' || id.length > maxIdLength) throw errors.invalidRequest(`${param} must be a string of 1 to ${maxIdLength} characters.`, param);
  return id;
}

export function parseVector(vector: unknown, param: string): number[] {
  if (!Array.isArray(vector) || vector.length === 0) throw errors.invalidRequest(`${param} must be a non-empty list of numbers.`, param);
  for (const value of vector) if (typeof value !== 'number' || !Number.isFinite(value)) throw errors.invalidRequest(`${param} must hold finite numbers only.`, param);
  return vector as number[];
}

export function parseTopK(value: unknown): number {
  if (value === undefined) return 10;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > maxTopK) throw errors.invalidRequest(`top_k must be an integer from 1 to ${maxTopK}.`, 'top_k');
  return value;
}

function isScalar(value: unknown): value is MetadataValue {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/** Only `{field: scalar}` (equality) and `{field: {in: [scalars]}}` (membership), all ANDed. */
export function parseFilter(value: unknown, param = 'filter'): MetadataFilter | undefined {
  if (value === undefined || value === null) return undefined;
  const shape = `${param} must be an object of \`{field: value}\` (equality) or \`{field: {in: [values]}}\` (membership), values being strings, numbers, booleans or null.`;
  if (!isRecord(value)) throw errors.invalidRequest(shape, param);
  const fields = Object.entries(value);
  if (fields.length > maxFilterFields) throw errors.invalidRequest(`${param} has ${fields.length} fields; the limit is ${maxFilterFields}.`, param);
  const filter: MetadataFilter = {};
  for (const [field, condition] of fields) {
    if (!fieldPattern.test(field)) throw errors.invalidRequest(`${param}: the field name \`${field.slice(0, 64)}\` must be 1 to 128 letters, digits, \`_\`, \`.\` or \`-\`.`, `${param}.${field.slice(0, 64)}`);
    if (isScalar(condition)) {
      filter[field] = condition;
      continue;
    }
    const list = isRecord(condition) && Object.keys(condition).length === 1 ? condition['in'] : undefined;
    if (!Array.isArray(list) || list.length === 0 || list.length > maxInValues || !list.every(isScalar)) {
      throw errors.invalidRequest(`${shape} \`${field}\` is neither (an \`in\` list holds 1 to ${maxInValues} values).`, `${param}.${field}`);
    }
    filter[field] = { in: list };
  }
  return filter;
}
