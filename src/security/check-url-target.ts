import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { deniedUrlError, type NetworkPolicy } from './network-policy.ts';

/**
 * Registration-time check of a server or webhook URL against the policy. The
 * URL parser has already turned spellings like `2130706433` or `0x7f.1` into
 * dotted form. A name that does not resolve yet is accepted: the connect-time
 * check still guards every connection.
 */
export async function assertUrlTargetAllowed(url: string, policy: NetworkPolicy, param: string): Promise<void> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) !== 0 ? [host] : await lookup(host, { all: true }).then((entries) => entries.map((entry) => entry.address), () => []);
  for (const address of addresses) {
    const reason = policy.reasonToDeny(address);
    if (reason !== null) throw deniedUrlError(isIP(host) !== 0 ? reason : `${host} resolves to ${reason}`, param);
  }
}
