import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const version = 'v1';

/**
 * AES-256-GCM for secrets at rest (upstream API keys). Each value gets a
 * fresh 96-bit IV; the auth tag makes tampering fail loudly. Stored as
 * `v1.<iv>.<tag>.<ciphertext>` in base64url.
 */
export class SecretBox {
  readonly #encryptionKey: Buffer;
  readonly #hashKey: Buffer;

  constructor(masterKey: Buffer) {
    if (masterKey.length !== 32) throw new Error('The secret key must be 32 bytes.');
    // Separate subkeys: the one that encrypts never also keys the API-key hash.
    this.#encryptionKey = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'switchyard/encrypt/v1', 32));
    this.#hashKey = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'switchyard/key-hash/v1', 32));
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#encryptionKey, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [version, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
  }

  decrypt(sealed: string): string {
    const [tag, iv, authTag, ciphertext] = sealed.split('.');
    if (tag !== version || iv === undefined || authTag === undefined || ciphertext === undefined) {
      throw new Error('Stored secret has an unknown format.');
    }
    const decipher = createDecipheriv('aes-256-gcm', this.#encryptionKey, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(authTag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  }

  /** The key for hashing API keys (HMAC-SHA256). */
  get hashKey(): Buffer {
    return this.#hashKey;
  }
}
