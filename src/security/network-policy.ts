import { BlockList, isIP } from 'node:net';
import { errors } from '../errors/error-catalogue.ts';
import { ConfigError } from '../config/load-config.ts';
import { embeddedIPv4 } from './embedded-ipv4.ts';

// Where cloud metadata and platform agents answer. Link-local holds most of them
// (169.254.169.254 for AWS, GCP, Azure, OCI, OpenStack; 169.254.170.2 for ECS;
// 169.254.0.23 for Tencent), plus Alibaba's 100.100.100.200, Oracle's legacy
// 192.0.0.192, Azure's WireServer 168.63.129.16 and AWS's IPv6 fd00:ec2::254.
// Private ranges stay allowed: model servers live there.
export const defaultDenyNets = ['169.254.0.0/16', '100.100.100.200/32', '192.0.0.192/32', '168.63.129.16/32', 'fe80::/10', 'fd00:ec2::254/128'];

/**
 * Which addresses Switchyard may connect to (model servers, webhooks). Deny
 * wins; when an allow list is set, only its ranges are allowed. Checked at
 * registration and again at connect time against the address actually
 * resolved, so DNS rebinding and odd spellings (2130706433, ::ffff:a9fe:a9fe, 64:ff9b::a9fe:a9fe) are caught.
 */
export class NetworkPolicy {
  readonly #deny: BlockList;
  readonly #allow: BlockList | null;
  readonly #denyText: string[];

  constructor(options: { allowNets?: string | undefined; denyNets?: string | undefined } = {}) {
    this.#denyText = options.denyNets === undefined ? defaultDenyNets : parseList(options.denyNets);
    this.#deny = toBlockList(this.#denyText, 'SWITCHYARD_DENY_NETS');
    this.#allow = options.allowNets === undefined ? null : toBlockList(parseList(options.allowNets), 'SWITCHYARD_ALLOW_NETS');
  }

  /** Null when allowed; otherwise why not. */
  reasonToDeny(address: string): string | null {
    const normalized = normalizeAddress(address);
    const family = isIP(normalized) === 6 ? 'ipv6' : 'ipv4';
    if (this.#deny.check(normalized, family)) return `${normalized} is in a denied network (${this.#denyText.join(', ')})`;
    // NAT64, 6to4 and IPv4-compatible spellings reach the IPv4 address they carry.
    for (const inner of family === 'ipv6' ? embeddedIPv4(normalized) : []) {
      if (this.#deny.check(inner, 'ipv4')) return `${normalized} carries ${inner}, which is in a denied network (${this.#denyText.join(', ')})`;
    }
    if (this.#allow !== null && !this.#allow.check(normalized, family)) return `${normalized} is outside the allowed networks`;
    return null;
  }
}

/** IPv4-mapped IPv6 (::ffff:1.2.3.4, ::ffff:102:304) is checked as the IPv4 address it is. */
export function normalizeAddress(address: string): string {
  const bare = address.replace(/^\[|\]$/g, '').toLowerCase();
  const dotted = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (dotted !== null) return dotted[1] as string;
  const hex = /^(?:0{0,4}:){0,5}:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(bare);
  if (hex !== null) {
    const high = Number.parseInt(hex[1] as string, 16);
    const low = Number.parseInt(hex[2] as string, 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return bare;
}

function parseList(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'none') return [];
  return trimmed.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
}

function toBlockList(nets: string[], setting: string): BlockList {
  const list = new BlockList();
  for (const net of nets) {
    const [address, prefixText] = net.split('/');
    const family = isIP(address ?? '');
    const prefix = prefixText === undefined ? (family === 6 ? 128 : 32) : Number(prefixText);
    if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) {
      throw new ConfigError(`Invalid setting ${setting}: "${net}" is not an address or CIDR range.`);
    }
    list.addSubnet(address as string, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

export class DeniedAddressError extends Error {
  readonly code = 'SY_DENIED_ADDRESS';
  constructor(reason: string) {
    super(`Connection refused by the network policy: ${reason}.`);
    this.name = 'DeniedAddressError';
  }
}

export function deniedUrlError(reason: string, param: string) {
  return errors.invalidRequest(`${param} points to an address Switchyard may not connect to: ${reason}. See SWITCHYARD_ALLOW_NETS / SWITCHYARD_DENY_NETS.`, param);
}
