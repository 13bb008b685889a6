import type { Actor } from '../../domain/audit.ts';
import { errors } from '../../errors/error-catalogue.ts';
import type { OperationRunner, OperationView } from '../operations/operation.ts';
import type { HubClient, HubModelInfo, HubSearchHit, HubSibling } from './hub-client.ts';
import { cachedFile, downloadFile } from './hub-download.ts';
import { ggufQuantOf, ggufQuants, type GgufQuant } from './gguf-quant.ts';

/** The repository as the Hub describes it, with its files as the gateway sees them (sizes, quant, cached). */
export interface HubModelView extends Omit<HubModelInfo, 'siblings'> {
  gguf: boolean;
  files: Array<{ name: string; size: number | null; sha256: string | null; quant: string | null; cached: boolean }>;
  quants: GgufQuant[];
}

export interface DownloadRequest {
  repo: string;
  file?: string;
  quant?: string;
  revision?: string;
  actor: Actor;
}

const repoPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9._-]{1,96}$/;
const revisionPattern = /^[A-Za-z0-9._/-]{1,200}$/;

export function checkedRepo(repo: string, field = 'repo'): string {
  if (!repoPattern.test(repo) || repo.includes('..')) throw errors.invalidRequest(`${field} must be a Hugging Face repository id such as "bartowski/Llama-3.2-1B-Instruct-GGUF".`, field);
  return repo;
}

function checkedRevision(revision: string): string {
  if (!revisionPattern.test(revision) || revision.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw errors.invalidRequest('revision must be a branch, tag or commit of the repository (letters, digits, ".", "_", "-", "/").', 'revision');
  }
  return revision;
}

/**
 * Search, read and download from the Hugging Face Hub (docs/decisions/0020).
 * A download is an operation of kind `hub_download` with one target per file.
 */
export class HubService {
  readonly #client: HubClient;
  readonly #operations: OperationRunner;
  readonly #cacheDir: string;
  /** `repo@commit/file` → the operation downloading it: two writers must never share one partial file. */
  readonly #inFlight = new Map<string, string>();

  constructor(options: { client: HubClient; operations: OperationRunner; cacheDir: string }) {
    this.#client = options.client;
    this.#operations = options.operations;
    this.#cacheDir = options.cacheDir;
  }

  get cacheDir(): string {
    return this.#cacheDir;
  }

  search(query: { search?: string; limit: number; filter?: string }): Promise<HubSearchHit[]> {
    return this.#client.search(query);
  }

  async model(repo: string, revision?: string): Promise<HubModelView> {
    const info = await this.#client.modelInfo(checkedRepo(repo), revision === undefined ? undefined : checkedRevision(revision));
    const files = await Promise.all(
      info.siblings.map(async (sibling) => ({
        name: sibling.rfilename,
        size: sibling.size,
        sha256: sibling.lfs?.sha256 ?? null,
        quant: ggufQuantOf(sibling.rfilename),
        cached: (await cachedFile(this.#cacheDir, info.id, info.sha, sibling)) !== null,
      })),
    );
    const { siblings: _siblings, ...rest } = info;
    return { ...rest, gguf: info.tags.includes('gguf') || files.some((file) => file.quant !== null), files, quants: ggufQuants(info.id, files.map((file) => ({ name: file.name, size: file.size }))) };
  }

  /** Checks everything (the repository, the revision, the file or quant) before anything starts. */
  async download(asked: DownloadRequest): Promise<OperationView> {
    const repo = checkedRepo(asked.repo);
    const revision = checkedRevision(asked.revision ?? 'main');
    if (asked.file !== undefined && asked.quant !== undefined) throw errors.invalidRequest('Give file or quant, not both.', 'quant');
    if (asked.file !== undefined && (asked.file.startsWith('/') || asked.file.split('/').some((part) => part === '' || part === '.' || part === '..') || asked.file.includes('\\'))) {
      throw errors.invalidRequest('file must be a path inside the repository, as the Hub lists it.', 'file');
    }
    const info = await this.#client.modelInfo(repo, revision);
    const chosen = chooseFiles(info, asked.file, asked.quant);
    const keys = chosen.map((sibling) => `${info.id}@${info.sha}/${sibling.rfilename}`);
    const busy = keys.map((key) => this.#inFlight.get(key)).find((id) => id !== undefined);
    if (busy !== undefined) throw errors.conflict(`That file is already being downloaded by operation ${busy}; follow it at /api/v1/operations/${busy}.`, 'file');
    let finished = false;
    const byName = new Map(chosen.map((sibling) => [sibling.rfilename, sibling]));
    const view = await this.#operations.start({
      kind: 'hub_download',
      model: info.id,
      params: { revision, commit: info.sha, files: chosen.map((sibling) => sibling.rfilename), ...(asked.quant === undefined ? {} : { quant: asked.quant.toUpperCase() }) },
      actor: asked.actor,
      targets: chosen.map((sibling) => ({ server_id: null, name: sibling.rfilename })),
      concurrency: 2,
      run: async (target, progress, signal) => {
        const sibling = byName.get(target.name) as HubSibling;
        const result = await downloadFile({ client: this.#client, cacheDir: this.#cacheDir, repo: info.id, commit: info.sha, revision, sibling, progress, signal });
        return { digest: result.digest };
      },
      onFinished: () => {
        finished = true;
        for (const key of keys) this.#inFlight.delete(key);
      },
    });
    if (!finished) for (const key of keys) this.#inFlight.set(key, view.id);
    return view;
  }
}

/** `file` names one file; `quant` every file of that quantisation (shards too); neither is a 400 listing what is on offer. */
function chooseFiles(info: HubModelInfo, file: string | undefined, quant: string | undefined): HubSibling[] {
  if (file !== undefined) {
    const sibling = info.siblings.find((entry) => entry.rfilename === file);
    if (sibling === undefined) throw errors.notFound(`The file ${file} in Hugging Face repository ${info.id}`);
    return [sibling];
  }
  const offered = ggufQuants(info.id, info.siblings.map((sibling) => ({ name: sibling.rfilename, size: sibling.size })));
  const list = offered.length === 0 ? 'it offers no GGUF quantisation, so name a file' : `on offer: ${offered.map((entry) => entry.quant).join(', ')}`;
  if (quant === undefined) throw errors.invalidRequest(`Name the file to download, or a GGUF quant (${list}).`, 'file');
  const match = offered.find((entry) => entry.quant === quant.toUpperCase());
  if (match === undefined) throw errors.invalidRequest(`${info.id} has no ${quant} quantisation (${list}).`, 'quant');
  return info.siblings.filter((sibling) => match.files.includes(sibling.rfilename));
}
