import type { PackageDefinition } from '@grpc/proto-loader';
import protobuf from 'protobufjs/minimal.js';

const { Reader, Writer } = protobuf;

/**
 * proto-loader's file descriptors (made by protobufjs) are not quite what
 * protoc writes, and strict readers refuse them through reflection (grpcurl
 * among them): a map field's entry message is named after the field alone
 * (`Fields`) where `FieldsEntry` is required ("incorrect implicit map entry
 * name"; google.protobuf.Struct has a map), no file lists the files it
 * imports, and a proto3 `optional` field is a plain oneof. This rewrites each
 * file before the reflection service serves it: map entries renamed, imports
 * listed, `optional` marked. Written against the wire format: every other
 * byte is copied as it is.
 */
export function canonicalDescriptors(definition: PackageDefinition): PackageDefinition {
  const originals = new Set<Buffer>();
  for (const entry of Object.values(definition)) for (const file of filesOf(entry) ?? []) originals.add(file);
  const owners = symbolOwners([...originals]);
  const fixed = new Map<Buffer, Buffer>();
  for (const file of originals) fixed.set(file, canonicalFile(file, owners));
  const out: PackageDefinition = {};
  for (const [name, entry] of Object.entries(definition)) {
    const files = filesOf(entry);
    out[name] = files === null ? entry : ({ ...entry, fileDescriptorProtos: files.map((file) => fixed.get(file) ?? file) } as typeof entry);
  }
  return out;
}

/** A message or enum entry's files (a service entry has none of its own). */
function filesOf(entry: PackageDefinition[string]): Buffer[] | null {
  const files = (entry as { fileDescriptorProtos?: unknown }).fileDescriptorProtos;
  return Array.isArray(files) ? (files as Buffer[]) : null;
}

// Field numbers of descriptor.proto.
const fileName = 1;
const filePackage = 2;
const fileDependency = 3;
const fileMessageType = 4;
const fileEnumType = 5;
const fileService = 6;
const messageName = 1;
const messageField = 2;
const messageNestedType = 3;
const messageEnumType = 4;
const messageOptions = 7;
const messageOneofDecl = 8;
const optionsMapEntry = 7;
const fieldName = 1;
const fieldTypeName = 6;
const fieldOneofIndex = 9;
const fieldProto3Optional = 17;
const serviceMethod = 2;
const methodInputType = 2;
const methodOutputType = 3;
const oneofName = 1;

/** Which file defines each fully qualified message and enum name. */
function symbolOwners(files: Buffer[]): Map<string, string> {
  const owners = new Map<string, string>();
  for (const file of files) {
    const fields = decode(file);
    const name = textOf(fields, fileName) ?? '';
    const scope = textOf(fields, filePackage) ?? '';
    const visit = (parts: WireField[], prefix: string) => {
      const own = `${prefix}${prefix === '' ? '' : '.'}${textOf(parts, messageName) ?? ''}`;
      owners.set(own, name);
      for (const part of parts) {
        if (part.number === messageNestedType) visit(decode(part.bytes as Buffer), own);
        if (part.number === messageEnumType) owners.set(`${own}.${textOf(decode(part.bytes as Buffer), 1) ?? ''}`, name);
      }
    };
    for (const field of fields) {
      if (field.number === fileMessageType) visit(decode(field.bytes as Buffer), scope);
      if (field.number === fileEnumType) owners.set(`${scope}${scope === '' ? '' : '.'}${textOf(decode(field.bytes as Buffer), 1) ?? ''}`, name);
    }
  }
  return owners;
}

/** A FileDescriptorProto as protoc would have written it (see canonicalDescriptors). */
export function canonicalFile(file: Buffer, owners: Map<string, string>): Buffer {
  const fields = decode(file);
  const name = textOf(fields, fileName) ?? '';
  const scope = textOf(fields, filePackage) ?? '';
  const imports = new Set<string>();
  const note = (reference: string, within: string) => {
    const owner = ownerOf(reference, within, owners);
    if (owner !== undefined && owner !== name) imports.add(owner);
  };
  const rewritten = fields.map((field) => {
    if (field.number === fileMessageType) return withBytes(field, canonicalMessage(field.bytes as Buffer, scope, note));
    if (field.number === fileService) {
      for (const method of decode(field.bytes as Buffer).filter((part) => part.number === serviceMethod)) {
        const parts = decode(method.bytes as Buffer);
        for (const number of [methodInputType, methodOutputType]) {
          const type = textOf(parts, number);
          if (type !== undefined) note(type, scope);
        }
      }
    }
    return field;
  });
  const listed = new Set(fields.filter((field) => field.number === fileDependency).map((field) => (field.bytes as Buffer).toString('utf8')));
  const added = [...imports].filter((file) => !listed.has(file)).map((file) => withBytes({ number: fileDependency, wireType: 2, raw: Buffer.alloc(0) }, Buffer.from(file, 'utf8')));
  // Imports go after the package, where protoc puts them (readers accept any order).
  const at = rewritten.findIndex((field) => field.number > fileDependency);
  return encode(at === -1 ? [...rewritten, ...added] : [...rewritten.slice(0, at), ...added, ...rewritten.slice(at)]);
}

/** The file defining a type reference, resolved as protoc does: from the innermost scope outwards. */
function ownerOf(reference: string, within: string, owners: Map<string, string>): string | undefined {
  if (reference.startsWith('.')) return owners.get(reference.slice(1));
  let scope = within;
  for (;;) {
    const found = owners.get(scope === '' ? reference : `${scope}.${reference}`);
    if (found !== undefined || scope === '') return found;
    const dot = scope.lastIndexOf('.');
    scope = dot === -1 ? '' : scope.slice(0, dot);
  }
}

function canonicalMessage(message: Buffer, scope: string, note: (reference: string, within: string) => void): Buffer {
  const own = `${scope}${scope === '' ? '' : '.'}${textOf(decode(message), messageName) ?? ''}`;
  const oneofs = decode(message).filter((field) => field.number === messageOneofDecl).map((field) => textOf(decode(field.bytes as Buffer), oneofName) ?? '');
  const fields = decode(message).map((field) => {
    if (field.number === messageNestedType) return withBytes(field, canonicalMessage(field.bytes as Buffer, own, note));
    if (field.number !== messageField) return field;
    const parts = decode(field.bytes as Buffer);
    const type = textOf(parts, fieldTypeName);
    if (type !== undefined) note(type, own);
    // proto3 `optional` comes out as a oneof `_<field>` holding the field alone: mark it as the synthetic oneof it is.
    const index = parts.find((part) => part.number === fieldOneofIndex)?.varint;
    const isOptional = index !== undefined && oneofs[index] === `_${textOf(parts, fieldName) ?? ''}` && !parts.some((part) => part.number === fieldProto3Optional);
    return isOptional ? withBytes(field, Buffer.concat([encode(parts), Writer.create().uint32(fieldProto3Optional << 3).uint32(1).finish()])) : field;
  });
  // The entries this message declares: name → the field holding it.
  const entries = new Map<string, WireField>();
  for (const field of fields) {
    if (field.number !== messageNestedType) continue;
    const nested = decode(field.bytes as Buffer);
    const options = nested.find((part) => part.number === messageOptions);
    const isMapEntry = options !== undefined && decode(options.bytes as Buffer).some((option) => option.number === optionsMapEntry && option.varint === 1);
    const name = nested.find((part) => part.number === messageName);
    if (isMapEntry && name !== undefined) entries.set((name.bytes as Buffer).toString('utf8'), field);
  }
  if (entries.size === 0) return encode(fields);
  const renames = new Map<WireField, string>();
  const rewritten = fields.map((field) => {
    if (field.number !== messageField) return field;
    const parts = decode(field.bytes as Buffer);
    const typeName = parts.find((part) => part.number === fieldTypeName);
    const name = parts.find((part) => part.number === fieldName);
    if (typeName === undefined || name === undefined) return field;
    const reference = (typeName.bytes as Buffer).toString('utf8');
    const last = reference.slice(reference.lastIndexOf('.') + 1);
    const entry = entries.get(last);
    const expected = mapEntryName((name.bytes as Buffer).toString('utf8'));
    if (entry === undefined || last === expected) return field;
    renames.set(entry, expected);
    const renamed = `${reference.slice(0, reference.length - last.length)}${expected}`;
    return withBytes(field, encode(parts.map((part) => (part === typeName ? withBytes(part, Buffer.from(renamed, 'utf8')) : part))));
  });
  return encode(
    rewritten.map((field) => {
      const name = renames.get(field);
      if (name === undefined) return field;
      return withBytes(field, encode(decode(field.bytes as Buffer).map((part) => (part.number === messageName ? withBytes(part, Buffer.from(name, 'utf8')) : part))));
    }),
  );
}

/** protoc's rule: `foo_bar` → `FooBarEntry`. */
export function mapEntryName(field: string): string {
  return `${field.replace(/(?:^|_)(.)/g, (_match, letter: string) => letter.toUpperCase()).replace(/_/g, '')}Entry`;
}

interface WireField {
  number: number;
  wireType: number;
  /** The field's bytes as they were (tag included): copied unless `bytes` changes. */
  raw: Buffer;
  /** Length-delimited fields: the content. */
  bytes?: Buffer;
  /** Varint fields: the value (small ones only are read: flags, enums). */
  varint?: number;
}

function textOf(fields: WireField[], number: number): string | undefined {
  const field = fields.find((candidate) => candidate.number === number && candidate.wireType === 2);
  return field === undefined ? undefined : (field.bytes as Buffer).toString('utf8');
}

function withBytes(field: WireField, bytes: Buffer): WireField {
  return { number: field.number, wireType: 2, raw: Buffer.from(Writer.create().uint32((field.number << 3) | 2).bytes(bytes).finish()), bytes };
}

function encode(fields: WireField[]): Buffer {
  return Buffer.concat(fields.map((field) => field.raw));
}

/** The fields of one message as they are on the wire (protobufjs reads the varints and skips what is not kept). */
function decode(buffer: Buffer): WireField[] {
  const fields: WireField[] = [];
  const reader = Reader.create(buffer);
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    const field: WireField = { number: tag >>> 3, wireType: tag & 7, raw: buffer };
    if (field.wireType === 0) {
      field.varint = reader.uint32();
    } else if (field.wireType === 2) {
      const length = reader.uint32();
      field.bytes = buffer.subarray(reader.pos, reader.pos + length);
      reader.skip(length);
    } else {
      reader.skipType(field.wireType);
    }
    field.raw = buffer.subarray(start, reader.pos);
    fields.push(field);
  }
  return fields;
}
