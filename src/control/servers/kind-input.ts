import { findServerKind, serverKindIds } from '../../data/adapters/server-kinds.ts';
import { errors } from '../../errors/error-catalogue.ts';

/** A requested `server_type`: `auto` or a registered kind; anything else is a 400 naming the choices. */
export function requestedKind(value: string): string {
  if (value === 'auto' || findServerKind(value) !== undefined) return value;
  throw errors.invalidRequest(`server_type must be one of: auto, ${serverKindIds().join(', ')}.`, 'server_type');
}

/**
 * A kind's per-server settings, validated by the kind itself (defaults filled
 * in). Kinds without settings take none: a stray `kind_config` is a mistake
 * worth saying, not something to store and ignore.
 */
export function checkKindConfig(kindId: string, raw: unknown): Record<string, unknown> | null {
  const kind = findServerKind(kindId);
  if (kind?.config === undefined) {
    if (raw === undefined || raw === null) return null;
    throw errors.invalidRequest(`kind_config is not taken by server_type ${kindId}; only ${kindsWithConfig().join(', ')} take it.`, 'kind_config');
  }
  if (kind.config.optional === true && (raw === undefined || raw === null)) return null;
  const checked = kind.config.check(raw ?? null);
  if (!checked.ok) throw errors.invalidRequest(checked.message, checked.field === '' ? 'kind_config' : `kind_config.${checked.field}`);
  return checked.value;
}

function kindsWithConfig(): string[] {
  return serverKindIds().filter((id) => findServerKind(id)?.config !== undefined);
}
