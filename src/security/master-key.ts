import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, scryptSync } from 'node:crypto';

export interface MasterKeySource {
  key: Buffer;
  /** Where it came from, for the banner: never the key itself. */
  origin: 'SWITCHYARD_SECRET_KEY' | 'generated key file' | 'key file';
  file?: string;
}

/**
 * The 32-byte key behind SecretBox: from SWITCHYARD_SECRET_KEY (64 hex chars,
 * 32 base64 bytes, or any passphrase, stretched with scrypt), else a key file
 * kept with the data (created on first start, mode 0600).
 */
export function loadMasterKey(secretSetting: string | undefined, dataDir: string): MasterKeySource {
  if (secretSetting !== undefined) return { key: keyFromSetting(secretSetting), origin: 'SWITCHYARD_SECRET_KEY' };
  const file = join(dataDir, 'secret.key');
  if (existsSync(file)) {
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 key.`);
    return { key, origin: 'key file', file };
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  // `wx` fails if another process created it first: never overwrite a key.
  writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { key, origin: 'generated key file', file };
}

function keyFromSetting(value: string): Buffer {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  const decoded = Buffer.from(value, 'base64');
  if (decoded.length === 32 && /^[A-Za-z0-9+/_-]{43}=?$/.test(value)) return decoded;
  return scryptSync(value, 'switchyard-secret-key', 32);
}
