import { useEffect, useState } from 'react';
import { api, type CachePolicyRecord } from '../api.ts';

/** The cache policies by name, for pages that mark what is cached (empty until loaded, or when not readable). */
export function useCachePolicies(): ReadonlyMap<string, CachePolicyRecord> {
  const [policies, setPolicies] = useState<ReadonlyMap<string, CachePolicyRecord>>(new Map());
  useEffect(() => {
    api<{ data: CachePolicyRecord[] }>('GET', '/api/v1/cache-policies').then(
      (answer) => setPolicies(new Map(answer.data.map((policy) => [policy.name, policy]))),
      () => undefined,
    );
  }, []);
  return policies;
}

/** "cached: exact" beside a model or route whose answers are cached; it leads to the Caching page, where it is changed. */
export function CacheBadge(props: { policy: CachePolicyRecord | undefined }) {
  if (props.policy === undefined) return null;
  return (
    <a className="badge cached" href="#/caching" title={`Answers are cached for ${props.policy.ttl_s} s (${props.policy.scope === 'key' ? 'per key' : 'shared by all keys'}). Change it on the Caching page.`}>
      cached: {props.policy.mode}
    </a>
  );
}
