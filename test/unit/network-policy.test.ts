import { describe, expect, it } from 'vitest';
import { embeddedIPv4, ipv6Groups } from '../../src/security/embedded-ipv4.ts';
import { NetworkPolicy } from '../../src/security/network-policy.ts';

describe('the default network policy', () => {
  const policy = new NetworkPolicy();

  it.each([
    ['AWS/GCP/Azure metadata', '169.254.169.254'],
    ['ECS task metadata', '169.254.170.2'],
    ['Alibaba Cloud metadata', '100.100.100.200'],
    ['Oracle Cloud legacy metadata', '192.0.0.192'],
    ['Azure WireServer', '168.63.129.16'],
    ['AWS IPv6 metadata', 'fd00:ec2::254'],
    ['IPv6 link-local', 'fe80::1'],
    ['IPv4-mapped, dotted', '::ffff:169.254.169.254'],
    ['IPv4-mapped, hex', '::ffff:a9fe:a9fe'],
    ['IPv4-compatible, dotted', '::169.254.169.254'],
    ['IPv4-compatible, hex', '::a9fe:a9fe'],
    ['NAT64 well-known prefix, hex', '64:ff9b::a9fe:a9fe'],
    ['NAT64 well-known prefix, dotted', '64:ff9b::169.254.169.254'],
    ['NAT64 well-known prefix, Alibaba', '64:ff9b::6464:64c8'],
    ['NAT64 local-use /96', '64:ff9b:1::a9fe:a9fe'],
    ['NAT64 local-use /48 layout', '64:ff9b:1:a9fe:a9:fe00::'],
    ['6to4', '2002:a9fe:a9fe::1'],
    ['6to4, Alibaba, bracketed with a zone', '[2002:6464:64c8::%eth0]'],
  ])('denies %s (%s)', (_label, address) => {
    expect(policy.reasonToDeny(address)).toMatch(/denied network/);
  });

  it.each([
    ['loopback', '127.0.0.1'],
    ['IPv6 loopback', '::1'],
    ['a private address', '10.1.2.3'],
    ['a private address in NAT64', '64:ff9b::a01:203'],
    ['a private address in 6to4', '2002:a01:203::1'],
    ['a public IPv6 address', '2001:db8::1'],
    ['the neighbour of Alibaba metadata', '100.100.100.201'],
  ])('allows %s (%s)', (_label, address) => {
    expect(policy.reasonToDeny(address)).toBeNull();
  });

  it('applies a configured IPv4 deny list to the IPv6 spellings too', () => {
    const strict = new NetworkPolicy({ denyNets: '127.0.0.0/8' });
    for (const address of ['127.0.0.1', '::ffff:7f00:1', '::127.0.0.1', '64:ff9b::7f00:1', '2002:7f00:1::']) expect(strict.reasonToDeny(address), address).not.toBeNull();
    expect(strict.reasonToDeny('::1')).toBeNull();
  });
});

describe('embeddedIPv4', () => {
  it('reads the embedded address, and nothing from ordinary IPv6 or IPv4 addresses', () => {
    expect(embeddedIPv4('64:ff9b::192.0.2.33')).toEqual(['192.0.2.33']);
    expect(embeddedIPv4('2002:c000:221::')).toEqual(['192.0.2.33']);
    expect(embeddedIPv4('2001:db8::1')).toEqual([]);
    expect(embeddedIPv4('::')).toEqual([]);
    expect(embeddedIPv4('::1')).toEqual([]);
    expect(embeddedIPv4('10.0.0.1')).toEqual([]);
  });

  it('expands IPv6 text to eight groups', () => {
    expect(ipv6Groups('1::')).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(ipv6Groups('::ffff:1.2.3.4')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x102, 0x304]);
    expect(ipv6Groups('1:2:3:4:5:6:7:8')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(ipv6Groups('not an address')).toBeNull();
  });
});
