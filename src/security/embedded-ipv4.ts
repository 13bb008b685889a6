import { isIP } from 'node:net';

/**
 * The IPv4 addresses an IPv6 address carries, by the well-known embeddings a
 * host or network may translate back to IPv4 on the way out:
 * IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible ::a.b.c.d (deprecated, still parsed),
 * NAT64 64:ff9b::/96 (RFC 6052) and the local-use 64:ff9b:1::/48 (RFC 8215, its
 * /48 and /96 layouts), and 6to4 2002:AABB:CCDD::/16 (RFC 3056).
 * A deny list written in IPv4 must hold for these spellings too.
 */
export function embeddedIPv4(address: string): string[] {
  const groups = ipv6Groups(address);
  if (groups === null) return [];
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [number, number, number, number, number, number, number, number];
  const found: string[] = [];
  const zeroTo = (end: number) => groups.slice(0, end).every((group) => group === 0);
  if (zeroTo(5) && g5 === 0xffff) found.push(dotted(g6, g7));
  // ::a.b.c.d, but not :: or ::1 (unspecified and loopback are IPv6 addresses in their own right).
  if (zeroTo(6) && (g6 !== 0 || g7 > 1)) found.push(dotted(g6, g7));
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) found.push(dotted(g6, g7));
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) {
    found.push(dotted(g6, g7));
    // /48 layout: octets in bits 48–63 and 72–87 (bits 64–71 are the reserved "u" octet).
    found.push(dotted(g3, ((g4 & 0xff) << 8) | (g5 >> 8)));
  }
  if (g0 === 0x2002) found.push(dotted(g1, g2));
  return [...new Set(found)];
}

function dotted(high: number, low: number): string {
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/** The eight 16-bit groups of an IPv6 address (brackets and zone allowed), or null. */
export function ipv6Groups(address: string): number[] | null {
  let text = address.replace(/^\[|\]$/g, '').toLowerCase();
  const zoneAt = text.indexOf('%');
  if (zoneAt !== -1) text = text.slice(0, zoneAt);
  if (isIP(text) !== 6) return null;
  const dottedTail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dottedTail !== null) {
    const [a, b, c, d] = dottedTail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dottedTail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, null];
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === null || tail === '' ? [] : tail.split(':');
  const missing = 8 - headGroups.length - tailGroups.length;
  const all = tail === null ? headGroups : [...headGroups, ...Array<string>(missing).fill('0'), ...tailGroups];
  return all.length === 8 ? all.map((group) => Number.parseInt(group, 16)) : null;
}
