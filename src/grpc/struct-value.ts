/**
 * google.protobuf.Struct in the object form proto-loader reads and writes
 * (`{fields: {name: {stringValue: …}}}`), to and from plain JSON. Metadata,
 * filters and a server's kind settings travel as Structs, so grpcurl shows
 * them as the JSON REST has.
 */
export interface ProtoStruct {
  fields?: Record<string, ProtoValue>;
}

export interface ProtoValue {
  nullValue?: 'NULL_VALUE' | number;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: ProtoStruct;
  listValue?: { values?: ProtoValue[] };
}

/** How deep a Struct a caller may send (REST's own JSON depth bound applies after). */
const maxDepth = 32;

export function toProtoStruct(value: unknown): ProtoStruct | undefined {
  if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value)) return undefined;
  return structOf(value as Record<string, unknown>, 0);
}

function structOf(record: Record<string, unknown>, depth: number): ProtoStruct {
  const fields: Record<string, ProtoValue> = {};
  for (const [name, entry] of Object.entries(record)) if (entry !== undefined) fields[name] = valueOf(entry, depth + 1);
  return { fields };
}

function valueOf(value: unknown, depth: number): ProtoValue {
  if (value === null || depth > maxDepth) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map((item) => valueOf(item, depth + 1)) } };
  if (typeof value === 'object') return { structValue: structOf(value as Record<string, unknown>, depth) };
  return { nullValue: 'NULL_VALUE' };
}

/** A Struct a caller sent, as JSON; undefined when it was not sent. */
export function fromProtoStruct(struct: ProtoStruct | null | undefined): Record<string, unknown> | undefined {
  if (struct === null || struct === undefined) return undefined;
  return recordOf(struct, 0);
}

function recordOf(struct: ProtoStruct, depth: number): Record<string, unknown> {
  if (depth > maxDepth) throw new StructTooDeep();
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(struct.fields ?? {})) out[name] = jsonOf(value, depth + 1);
  return out;
}

function jsonOf(value: ProtoValue, depth: number): unknown {
  if (depth > maxDepth) throw new StructTooDeep();
  if (value.numberValue !== undefined) return value.numberValue;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.structValue !== undefined) return recordOf(value.structValue, depth + 1);
  if (value.listValue !== undefined) return (value.listValue.values ?? []).map((item) => jsonOf(item, depth + 1));
  return null;
}

export class StructTooDeep extends Error {
  constructor() {
    super(`A Struct nests deeper than ${maxDepth} levels.`);
    this.name = 'StructTooDeep';
  }
}
