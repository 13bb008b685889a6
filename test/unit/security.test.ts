import { randomBytes } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { generateApiKey } from '../../src/auth/api-key-hash.ts';
import { KeyRing, unlimited } from '../../src/auth/key-ring.ts';
import { loadMasterKey } from '../../src/security/master-key.ts';
import { RedactedSecret } from '../../src/security/redacted-secret.ts';
import { SecretBox } from '../../src/security/secret-box.ts';

describe('SecretBox (AES-256-GCM)', () => {
  const box = new SecretBox(randomBytes(32));

  it('round-trips a secret and never stores it in the clear', () => {
    const sealed = box.encrypt('sk-upstream-canary');
    expect(sealed).not.toContain('sk-upstream-canary');
    expect(sealed.startsWith('v1.')).toBe(true);
    expect(box.decrypt(sealed)).toBe('sk-upstream-canary');
  });

  it('uses a fresh IV each time', () => {
    expect(box.encrypt('same')).not.toBe(box.encrypt('same'));
  });

  it('refuses a tampered ciphertext or the wrong key', () => {
    const sealed = box.encrypt('secret');
    const parts = sealed.split('.');
    const flipped = Buffer.from(parts[3] as string, 'base64url');
    flipped[0] = (flipped[0] as number) ^ 1;
    expect(() => box.decrypt([parts[0], parts[1], parts[2], flipped.toString('base64url')].join('.'))).toThrow();
    expect(() => new SecretBox(randomBytes(32)).decrypt(sealed)).toThrow();
  });
});

describe('master key', () => {
  it('generates a key file with mode 0600 on first start and reuses it after', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-key-'));
    const first = loadMasterKey(undefined, dir);
    expect(first.origin).toBe('generated key file');
    expect(statSync(join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
    const second = loadMasterKey(undefined, dir);
    expect(second.origin).toBe('key file');
    expect(second.key.equals(first.key)).toBe(true);
  });

  it('accepts SWITCHYARD_SECRET_KEY as hex, base64 or a passphrase', () => {
    const hex = randomBytes(32).toString('hex');
    expect(loadMasterKey(hex, '/nonexistent').key.toString('hex')).toBe(hex);
    const passphrase = loadMasterKey('correct horse battery staple', '/nonexistent').key;
    expect(passphrase).toHaveLength(32);
    expect(loadMasterKey('correct horse battery staple', '/nonexistent').key.equals(passphrase)).toBe(true);
  });
});

describe('KeyRing', () => {
  it('admits a known key and rejects unknown, empty and oversized ones alike', () => {
    const ring = new KeyRing(randomBytes(32));
    const key = generateApiKey();
    ring.add(ring.hash(key), unlimited('k1', 'test', ['admin']));
    expect(ring.authenticate(key)?.keyId).toBe('k1');
    expect(ring.authenticate(`${key}x`)).toBeNull();
    expect(ring.authenticate('')).toBeNull();
    expect(ring.authenticate('x'.repeat(65_536))).toBeNull();
    expect(ring.authenticate("' OR 1=1 --")).toBeNull();
  });

  it('remembers a key that authenticated, and forgets it when the keys change (decision 0036)', () => {
    const ring = new KeyRing(randomBytes(32));
    const key = generateApiKey();
    const hash = ring.hash(key);
    ring.add(hash, { ...unlimited('k1', 'test', ['inference']), expiresAt: Date.now() + 60_000 });
    expect(ring.authenticate(key)?.keyId).toBe('k1');
    // A change of scopes or limits in place shows on the next request.
    ring.updatePrincipal({ ...unlimited('k1', 'renamed', ['read']), expiresAt: Date.now() + 60_000 });
    expect(ring.authenticate(key)?.name).toBe('renamed');
    // Expiry is checked on every request, remembered or not.
    ring.updatePrincipal({ ...unlimited('k1', 'renamed', ['read']), expiresAt: Date.now() - 1 });
    expect(ring.authenticate(key)).toBeNull();
    ring.updatePrincipal(unlimited('k1', 'renamed', ['read']));
    expect(ring.authenticate(key)?.keyId).toBe('k1');
    // Revoked, rotated or replaced: the next request gets 401.
    ring.removeKey('k1');
    expect(ring.authenticate(key)).toBeNull();
    ring.add(hash, unlimited('k1', 'test', ['inference']));
    expect(ring.authenticate(key)?.keyId).toBe('k1');
    ring.replace([]);
    expect(ring.authenticate(key)).toBeNull();
    ring.replace([{ hash, principal: unlimited('k1', 'test', ['inference']) }]);
    expect(ring.authenticate(key)?.keyId).toBe('k1');
    ring.replaceStored(new Set(['k1']), []);
    expect(ring.authenticate(key)).toBeNull();
  });

  it('remembers no key that failed, so guesses cannot fill memory or skip the HMAC', () => {
    const ring = new KeyRing(randomBytes(32));
    const key = generateApiKey();
    ring.add(ring.hash(key), unlimited('k1', 'test', ['admin']));
    // '!' is not in a key's alphabet, so no guess can equal the real key by chance.
    for (let index = 0; index < 1_000; index++) expect(ring.authenticate(`${key.slice(0, -4)}!${String(index).padStart(3, '0')}`)).toBeNull();
    // A guess that differs only in its last character is still refused after the real key was remembered.
    expect(ring.authenticate(key)?.keyId).toBe('k1');
    expect(ring.authenticate(`${key.slice(0, -1)}!`)).toBeNull();
    expect(ring.rememberedCount).toBe(1);
  });

  it('issues keys with the sk-sy- prefix and enough randomness', () => {
    const key = generateApiKey();
    expect(key).toMatch(/^sk-sy-[A-Za-z0-9_-]{43}$/);
    expect(generateApiKey()).not.toBe(key);
  });
});

describe('RedactedSecret', () => {
  it('shows [redacted] in JSON, strings and inspection', () => {
    const holder = { apiKey: new RedactedSecret('sk-canary') };
    expect(JSON.stringify(holder)).not.toContain('sk-canary');
    expect(inspect(holder)).not.toContain('sk-canary');
    expect(`${holder.apiKey}`).toBe('[redacted]');
    expect(holder.apiKey.reveal()).toBe('sk-canary');
  });
});
