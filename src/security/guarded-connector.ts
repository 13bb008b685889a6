import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { buildConnector } from 'undici';
import { DeniedAddressError, type NetworkPolicy } from './network-policy.ts';

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * An undici connector that checks the address it is about to connect to:
 * IP literals directly, names after resolution (every resolved address must
 * be allowed). This is where DNS rebinding is stopped: the check runs on the
 * very answer the socket uses.
 */
export function guardedConnector(policy: NetworkPolicy, options: { timeout: number }): buildConnector.connector {
  const lookup = (hostname: string, lookupOptions: { all?: boolean; family?: number }, callback: LookupCallback) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error !== null) return callback(error, []);
      for (const entry of addresses) {
        const reason = policy.reasonToDeny(entry.address);
        if (reason !== null) return callback(new DeniedAddressError(`${hostname} resolves to ${reason}`), []);
      }
      if (lookupOptions.all === true) return callback(null, addresses);
      const first = addresses[0];
      if (first === undefined) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      return callback(null, first.address, first.family);
    });
  };
  const connect = buildConnector({ timeout: options.timeout, lookup } as buildConnector.BuildOptions);
  return (connectOptions, callback) => {
    const host = connectOptions.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0) {
      const reason = policy.reasonToDeny(host);
      if (reason !== null) return callback(new DeniedAddressError(reason), null);
    }
    return connect(connectOptions, callback);
  };
}
