import { Type } from 'typebox';
import { modelCapabilities, serverKinds } from '../domain/server-kind.ts';

export const ServerKindSchema = Type.Enum(serverKinds);
export const ServerKindOrAutoSchema = Type.Enum([...serverKinds, 'auto'] as const);
export const ModelCapabilitySchema = Type.Enum(modelCapabilities);
