import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/** A connection to a single Redis, a Sentinel-managed primary, or a Cluster: the commands Switchyard sends work on all three. */
export type RedisClient = Redis | Cluster;

export type RedisTarget =
  | { mode: 'single'; url: string }
  | { mode: 'sentinel'; sentinels: Array<{ host: string; port: number }>; name: string; db: number; username?: string; password?: string; sentinelPassword?: string; tls: boolean }
  | { mode: 'cluster'; nodes: Array<{ host: string; port: number }>; username?: string; password?: string; tls: boolean };

/**
 * Reads REDIS_URL (decision 0032):
 * - `redis://[user:password@]host:port[/db]`, `rediss://…` (TLS): one Redis;
 * - `redis+sentinel://[user:password@]host:port[,host:port…]/<primary name>[/db][?sentinel_password=…]`
 *   (`rediss+sentinel://` for TLS): ask the Sentinels for the primary, follow failovers;
 * - `redis+cluster://[user:password@]host:port[,host:port…]` (`rediss+cluster://`): a Redis Cluster, from any of its nodes.
 * The password in the URL is the Redis servers' own; Sentinels with a password of their own take `sentinel_password`.
 */
export function parseRedisUrl(text: string): RedisTarget {
  const match = /^(rediss?)(?:\+(sentinel|cluster))?:\/\/(?:([^@/]*)@)?([^/?#]+)(\/[^?#]*)?(?:\?([^#]*))?$/.exec(text);
  if (match === null) throw new Error('REDIS_URL must look like redis://host:6379, redis+sentinel://host:26379,host:26379/<primary name> or redis+cluster://host:7000,host:7001.');
  const [, scheme, kind, userinfo, hostList, path = '', query = ''] = match as unknown as [string, string, string | undefined, string | undefined, string, string | undefined, string | undefined];
  if (kind === undefined) return { mode: 'single', url: text };
  const tls = scheme === 'rediss';
  const credentials: { username?: string; password?: string } = {};
  if (userinfo !== undefined && userinfo !== '') {
    const colon = userinfo.indexOf(':');
    const user = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
    if (user !== '') credentials.username = user;
    if (colon >= 0) credentials.password = decodeURIComponent(userinfo.slice(colon + 1));
  }
  const hosts = hostList.split(',').map((entry) => {
    const colon = entry.lastIndexOf(':');
    const host = colon < 0 ? entry : entry.slice(0, colon);
    const port = colon < 0 ? (kind === 'sentinel' ? 26_379 : 6_379) : Number(entry.slice(colon + 1));
    if (host === '' || !Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`REDIS_URL names a host it cannot read: ${JSON.stringify(entry)}.`);
    return { host: host.replace(/^\[|\]$/g, ''), port };
  });
  if (kind === 'cluster') return { mode: 'cluster', nodes: hosts, tls, ...credentials };
  const [name, db = '0'] = path.split('/').filter((part) => part !== '');
  if (name === undefined) throw new Error('REDIS_URL with redis+sentinel:// must name the primary: redis+sentinel://host:26379/<primary name>.');
  if (!/^\d+$/.test(db)) throw new Error('REDIS_URL: the database after the primary name must be a number.');
  const sentinelPassword = new URLSearchParams(query).get('sentinel_password');
  return { mode: 'sentinel', sentinels: hosts, name: decodeURIComponent(name), db: Number(db), tls, ...credentials, ...(sentinelPassword === null ? {} : { sentinelPassword }) };
}

/** Where REDIS_URL points, without credentials (logs, the console). */
export function describeRedisTarget(target: RedisTarget): string {
  if (target.mode === 'single') {
    const url = new URL(target.url);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  }
  const hosts = (target.mode === 'sentinel' ? target.sentinels : target.nodes).map((node) => `${node.host}:${node.port}`).join(',');
  return target.mode === 'sentinel' ? `sentinel ${hosts} (primary ${target.name}, db ${target.db})` : `cluster ${hosts}`;
}

/** Opens a connection for REDIS_URL with the caller's options (timeouts, retries), whichever form it has. */
export function createRedis(url: string, options: RedisOptions): RedisClient {
  const target = parseRedisUrl(url);
  if (target.mode === 'single') return new Redis(url, options);
  const auth = { ...(target.username === undefined ? {} : { username: target.username }), ...(target.password === undefined ? {} : { password: target.password }) };
  const tls = target.tls ? { tls: {} } : {};
  if (target.mode === 'sentinel') {
    return new Redis({
      ...options,
      ...auth,
      ...tls,
      sentinels: target.sentinels,
      name: target.name,
      db: target.db,
      ...(target.sentinelPassword === undefined ? {} : { sentinelPassword: target.sentinelPassword }),
      ...(target.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
    });
  }
  const clusterOptions: ClusterOptions = {
    redisOptions: { ...options, ...auth, ...tls },
    // Commands wait for the cluster's slot map only as long as single-Redis commands wait for a connection.
    enableOfflineQueue: options.enableOfflineQueue ?? true,
    ...(options.maxRetriesPerRequest === undefined || options.maxRetriesPerRequest === null ? {} : { maxRedirections: Math.max(4, options.maxRetriesPerRequest * 4) }),
  };
  return new Cluster(target.nodes, clusterOptions);
}
