import { environmentAdminKeyId } from '../../auth/bootstrap-admin-key.ts';
import { isBenchmarkKey } from './model-benchmark.ts';

/** How usage grouped by key names its group: a person reads the name, a program keeps the id. */
export interface KeyGroup {
  group: string;
  key_id: string | null;
  key_name: string | null;
  /** Traffic Switchyard made itself (model benchmarks), not a caller's. */
  internal: boolean;
}

/**
 * Benchmark runs each make a throwaway key: their usage is folded into one
 * group, labelled as internal, rather than shown as a list of dead ids. It is
 * kept (not hidden) so totals by key still match totals by model and server:
 * those requests really loaded the servers.
 */
export function keyGroup(keyId: string | null, names: ReadonlyMap<string, string>): KeyGroup {
  const group = keyGroupId(keyId);
  if (keyId === null) return { group, key_id: null, key_name: null, internal: false };
  if (isBenchmarkKey(keyId)) return { group, key_id: null, key_name: 'benchmark (internal)', internal: true };
  if (keyId === environmentAdminKeyId) return { group: keyId, key_id: keyId, key_name: 'SWITCHYARD_ADMIN_KEY', internal: false };
  return { group: keyId, key_id: keyId, key_name: names.get(keyId) ?? null, internal: false };
}

/** The group a usage record falls in, by its key id. */
export function keyGroupId(keyId: string | null): string {
  if (keyId === null) return 'none';
  return isBenchmarkKey(keyId) ? 'benchmark' : keyId;
}
