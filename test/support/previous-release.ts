import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repository = fileURLToPath(new URL('../..', import.meta.url));

export interface PreviousRelease {
  /** Where its files are: run `bin/switchyard.js` from here. */
  root: string;
  commit: string;
  /** The newest migration this checkout has and that release has not. */
  newerMigration: string;
  /** Whether it starts on a schema a later release migrated (releases before that tolerance refuse to). */
  runsOnLaterSchema: boolean;
  remove(): void;
}

/**
 * The code as it was just before the newest migration was added: the release
 * whose replicas are still serving while a rolling upgrade migrates their
 * database. Taken from git history (`git archive`), sharing this checkout's
 * node_modules. Null when there is no history to take it from (a tarball).
 */
export async function previousSchemaRelease(): Promise<PreviousRelease | null> {
  const git = (...args: string[]) => run('git', ['-C', repository, ...args], { maxBuffer: 64 * 1024 * 1024 }).then((result) => result.stdout.trim());
  let added: string;
  try {
    added = await git('log', '-1', '--format=%H', '--', 'src/storage/migrations/migration-list.ts');
  } catch {
    return null;
  }
  if (added === '') return null;
  let commit: string;
  try {
    commit = await git('rev-parse', '--verify', '--quiet', `${added}^`);
  } catch {
    // A shallow clone: the commit before it is not here.
    return null;
  }
  const names = async (at: string) => [...(await git('show', `${at}:src/storage/migrations/migration-list.ts`)).matchAll(/'(\d{4}-[a-z0-9-]+)':/g)].map((match) => match[1] as string);
  const before = await names(commit);
  const newerMigration = (await names(added)).find((name) => !before.includes(name)) ?? '';
  const root = mkdtempSync(join(tmpdir(), 'switchyard-previous-'));
  const archive = join(root, '..', `${root.split('/').at(-1)}.tar`);
  await git('archive', '--format=tar', `--output=${archive}`, commit);
  await run('tar', ['-xf', archive, '-C', root]);
  rmSync(archive, { force: true });
  symlinkSync(join(repository, 'node_modules'), join(root, 'node_modules'));
  return { root, commit, newerMigration, runsOnLaterSchema: existsSync(join(root, 'src/storage/later-schema.ts')), remove: () => rmSync(root, { recursive: true, force: true }) };
}
