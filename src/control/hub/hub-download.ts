import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { TargetProgress } from '../operations/operation.ts';
import type { HubClient, HubSibling } from './hub-client.ts';

/**
 * The cache's layout is huggingface_hub's, so its tools (and anything reading
 * HF_HUB_CACHE) find the files:
 *
 *   <cache>/models--<owner>--<repo>/blobs/<sha256 or git blob id>
 *   <cache>/models--<owner>--<repo>/blobs/<…>.incomplete   (a download under way or interrupted)
 *   <cache>/models--<owner>--<repo>/snapshots/<commit>/<file>  → ../../blobs/<…> (a relative symlink)
 *   <cache>/models--<owner>--<repo>/refs/<revision>        (the commit a branch or tag last resolved to)
 *
 * The partial file is named by the content hash the Hub promised, so bytes kept
 * from an interrupted download can only ever be resumed into the same file version.
 */
export function repoFolder(cacheDir: string, repo: string): string {
  return join(cacheDir, `models--${repo.replace('/', '--')}`);
}

export function snapshotPath(cacheDir: string, repo: string, commit: string, file: string): string {
  return join(repoFolder(cacheDir, repo), 'snapshots', commit, ...file.split('/'));
}

export interface DownloadSpec {
  client: HubClient;
  cacheDir: string;
  repo: string;
  /** The commit the revision resolved to: the file is fetched by it, so it cannot change under a resume. */
  commit: string;
  /** The revision as asked (a branch, tag or commit), recorded under refs/. */
  revision: string;
  sibling: HubSibling;
  progress: (update: TargetProgress) => void;
  signal: AbortSignal;
}

export interface DownloadResult {
  path: string;
  cached: boolean;
  resumedFrom: number;
  digest: string;
}

/** True when the file is already in the cache at that commit, whole. */
export async function cachedFile(cacheDir: string, repo: string, commit: string, sibling: HubSibling): Promise<string | null> {
  const path = snapshotPath(cacheDir, repo, commit, sibling.rfilename);
  const found = await stat(path).catch(() => null);
  return found !== null && found.isFile() && (sibling.size === null || found.size === sibling.size) ? path : null;
}

/**
 * Downloads one file into the cache: resumes an `.incomplete` file with a
 * Range request, checks the whole file against the Hub's sha256 (LFS) or git
 * blob id before it is kept, and links it into the snapshot. A mismatch
 * deletes the partial file; an interruption keeps it for the next attempt.
 */
export async function downloadFile(spec: DownloadSpec): Promise<DownloadResult> {
  const { cacheDir, repo, commit, sibling, progress, signal } = spec;
  const expected = expectedDigest(sibling);
  const total = sibling.size;
  const folder = repoFolder(cacheDir, repo);
  await writeRef(folder, spec.revision, commit);

  const existing = await cachedFile(cacheDir, repo, commit, sibling);
  if (existing !== null) {
    progress({ message: 'cached', ...(total === null ? {} : { completed: total, total }), digest: expected.value });
    return { path: existing, cached: true, resumedFrom: 0, digest: expected.value };
  }

  const blob = join(folder, 'blobs', expected.value);
  const partial = `${blob}.incomplete`;
  await mkdir(dirname(blob), { recursive: true });
  let start = (await stat(partial).catch(() => null))?.size ?? 0;
  if (total !== null && start > total) {
    await rm(partial, { force: true });
    start = 0;
  }
  const resumedFrom = start;

  if (total === null || start < total) {
    const opened = await spec.client.openFile(repo, commit, sibling.rfilename, start, signal);
    // For LFS files the Hub names the content's sha256 in X-Linked-Etag: it must still be the one asked for.
    const linked = unquote(opened.hubHeaders['x-linked-etag'] ?? '');
    if (linked !== '' && expected.kind === 'sha256' && linked !== expected.value) {
      await opened.body.dump();
      throw new Error(`the Hub now serves another version of ${sibling.rfilename} (etag ${linked.slice(0, 16)}…, expected ${expected.value.slice(0, 16)}…); ask again to start over`);
    }
    if (start > 0 && opened.statusCode === 200) {
      // The server ignored the Range: start over rather than append the whole file again.
      start = 0;
    } else if (start > 0) {
      const range = /^bytes (\d+)-/.exec(opened.headers['content-range'] ?? '');
      if (opened.statusCode !== 206 || range === null || Number(range[1]) !== start) {
        await opened.body.dump();
        await rm(partial, { force: true });
        throw new Error(`the Hub answered a resumed download of ${sibling.rfilename} with a range other than the one asked; the partial file was deleted, ask again`);
      }
    }
    let completed = start;
    progress({ message: start > 0 ? `resuming at ${start} bytes` : 'downloading', completed, ...(total === null ? {} : { total }) });
    let lastReport = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        completed += chunk.length;
        const now = Date.now();
        if (now - lastReport >= 200) {
          lastReport = now;
          progress({ completed, ...(total === null ? {} : { total }) });
        }
        callback(null, chunk);
      },
    });
    try {
      await pipeline(opened.body, counter, createWriteStream(partial, { flags: start > 0 ? 'a' : 'w' }), { signal });
    } catch (error) {
      const done = (await stat(partial).catch(() => null))?.size ?? completed;
      if (signal.aborted) throw error;
      throw new Error(`download of ${sibling.rfilename} interrupted after ${done}${total === null ? '' : ` of ${total}`} bytes (${error instanceof Error ? error.message : 'unknown error'}); the bytes are kept: ask again to resume`);
    }
    progress({ completed, ...(total === null ? {} : { total }) });
  }

  progress({ message: `verifying ${expected.kind}` });
  const actual = await digestOf(partial, expected.kind);
  if (actual !== expected.value) {
    await rm(partial, { force: true });
    throw new Error(`${expected.kind} mismatch for ${sibling.rfilename}: the Hub promised ${expected.value}, the bytes received hash to ${actual}; the partial download was deleted`);
  }
  await rename(partial, blob);
  const path = snapshotPath(cacheDir, repo, commit, sibling.rfilename);
  await mkdir(dirname(path), { recursive: true });
  await rm(path, { force: true });
  await symlink(relative(dirname(path), blob), path);
  const size = (await stat(path)).size;
  progress({ message: 'downloaded', completed: size, total: size, digest: expected.value });
  return { path, cached: false, resumedFrom, digest: expected.value };
}

function expectedDigest(sibling: HubSibling): { kind: 'sha256' | 'git blob sha1'; value: string } {
  if (sibling.lfs !== null) return { kind: 'sha256', value: sibling.lfs.sha256 };
  if (sibling.blobId !== null) return { kind: 'git blob sha1', value: sibling.blobId };
  throw new Error(`the Hub gave no hash for ${sibling.rfilename}, so it cannot be checked`);
}

async function digestOf(path: string, kind: 'sha256' | 'git blob sha1'): Promise<string> {
  const hash = createHash(kind === 'sha256' ? 'sha256' : 'sha1');
  if (kind === 'git blob sha1') hash.update(`blob ${(await stat(path)).size}\0`);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function writeRef(folder: string, revision: string, commit: string): Promise<void> {
  if (revision === commit || revision.includes('..')) return;
  const ref = join(folder, 'refs', ...revision.split('/'));
  await mkdir(dirname(ref), { recursive: true });
  const current = await readFile(ref, 'utf8').catch(() => null);
  if (current !== commit) await writeFile(ref, commit);
}

const unquote = (etag: string): string => etag.replace(/^W\//, '').replace(/^"|"$/g, '');
