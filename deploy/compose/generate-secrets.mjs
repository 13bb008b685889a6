// The one-shot `secrets` service of deploy/compose.yaml: writes random secrets into the
// `secrets` volume on the first `up` and never replaces one, so later starts keep the
// same keys (SWITCHYARD_SECRET_KEY must stay the same for stored server API keys to
// decrypt and issued keys to match). Prints no secret. Usage: node generate-secrets.mjs <directory>
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const directory = process.argv[2];
if (directory === undefined) {
  process.stderr.write('usage: node generate-secrets.mjs <directory>\n');
  process.exit(2);
}

const random = () => randomBytes(32).toString('base64url');
// The gateway reads its files as uid 1000, the owner. PostgreSQL's and Grafana's images read
// theirs under their own uids, so those two are readable by all inside this private volume.
const secrets = [
  { file: 'switchyard-admin-key', mode: 0o600, value: () => `sy-${random()}` },
  { file: 'switchyard-secret-key', mode: 0o600, value: () => randomBytes(32).toString('base64') },
  { file: 'postgres-password', mode: 0o644, value: random },
  { file: 'grafana-admin-password', mode: 0o644, value: random },
  // DATABASE_URL carries the password.
  { file: 'database-url', mode: 0o600, value: () => `postgres://switchyard:${readFileSync(join(directory, 'postgres-password'), 'utf8')}@postgres:5432/switchyard` },
];

mkdirSync(directory, { recursive: true });
// Others may enter the directory (Grafana's uid reads its password); each file keeps its own mode.
chmodSync(directory, 0o755);
let created = 0;
for (const secret of secrets) {
  try {
    // `wx`: a secret that exists is never overwritten.
    writeFileSync(join(directory, secret.file), secret.value(), { flag: 'wx', mode: secret.mode });
    created += 1;
  } catch (error) {
    if (error.code !== 'EEXIST') throw error;
  }
}
process.stdout.write(created === 0 ? 'secrets: all present, none changed\n' : `secrets: generated ${created} in ${directory}\n`);
