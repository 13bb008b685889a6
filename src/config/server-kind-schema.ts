import { Type } from 'typebox';
import { modelCapabilities } from '../domain/server-kind.ts';

// Kinds are registered modules (data/adapters/server-kinds.ts), some at run
// time: schemas take any well-formed id, and the registry says which exist.
export const ServerKindSchema = Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' });
export const ServerKindOrAutoSchema = ServerKindSchema;
export const ModelCapabilitySchema = Type.Enum(modelCapabilities);
/** A kind's per-server settings; the kind validates the contents. */
export const KindConfigSchema = Type.Union([Type.Record(Type.String({ maxLength: 100 }), Type.Unknown(), { maxProperties: 50 }), Type.Null()]);
