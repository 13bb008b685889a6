import { request, type Dispatcher } from 'undici';
import { errors } from '../../errors/error-catalogue.ts';
import type { RedactedSecret } from '../../security/redacted-secret.ts';

/** One entry of `GET /api/models` as the Hub answers it (the fields Switchyard reads). */
export interface HubSearchHit {
  id: string;
  downloads: number;
  likes: number;
  tags: string[];
  pipeline_tag: string | null;
  library_name: string | null;
  gguf: boolean;
  last_modified: string | null;
  private: boolean;
}

export interface HubSibling {
  rfilename: string;
  size: number | null;
  /** The git blob id (sha1 of `blob <size>\0<bytes>`): what a file outside LFS is checked against. */
  blobId: string | null;
  /** LFS files: the sha256 of the content (the LFS oid) and its size. */
  lfs: { sha256: string; size: number } | null;
}

export interface HubModelInfo {
  id: string;
  /** The commit the revision asked for resolved to. */
  sha: string;
  private: boolean;
  gated: boolean | string;
  downloads: number;
  likes: number;
  tags: string[];
  pipeline_tag: string | null;
  library_name: string | null;
  last_modified: string | null;
  siblings: HubSibling[];
}

export interface HubClientOptions {
  endpoint: string;
  token: RedactedSecret | null;
  /** Tests inject a dispatcher; production uses undici's global one. */
  dispatcher?: Dispatcher;
  /** How long a metadata call may wait for its answer's headers and body. */
  timeoutMs?: number;
}

const maxRedirects = 5;

/**
 * A small client for the Hugging Face Hub's HTTP API (the shapes
 * huggingface_hub and huggingface.js use). The token goes only to the Hub's own
 * origin, never to the CDN a download is redirected to, and never into an error.
 */
export class HubClient {
  readonly endpoint: string;
  readonly #origin: string;
  readonly #token: RedactedSecret | null;
  readonly #dispatcher: Dispatcher | undefined;
  readonly #timeoutMs: number;

  constructor(options: HubClientOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    this.#origin = new URL(this.endpoint).origin;
    this.#token = options.token;
    this.#dispatcher = options.dispatcher;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  get hasToken(): boolean {
    return this.#token !== null;
  }

  async search(query: { search?: string; limit: number; filter?: string }): Promise<HubSearchHit[]> {
    const params = new URLSearchParams();
    if (query.search !== undefined && query.search !== '') params.set('search', query.search);
    if (query.filter !== undefined && query.filter !== '') params.set('filter', query.filter);
    params.set('limit', String(query.limit));
    for (const field of ['downloads', 'likes', 'tags', 'lastModified', 'pipeline_tag', 'library_name', 'private']) params.append('expand[]', field);
    const body = await this.#json(`/api/models?${params.toString()}`, 'the search');
    if (!Array.isArray(body)) throw errors.hubStatus('The Hugging Face Hub answered a search with something that is not a list.');
    return body.filter(isRecord).map((entry) => {
      const tags = stringsOf(entry['tags']);
      return {
        id: String(entry['id'] ?? entry['modelId'] ?? ''),
        downloads: numberOf(entry['downloads']) ?? 0,
        likes: numberOf(entry['likes']) ?? 0,
        tags,
        pipeline_tag: stringOf(entry['pipeline_tag']),
        library_name: stringOf(entry['library_name']),
        gguf: tags.includes('gguf') || entry['library_name'] === 'gguf',
        last_modified: stringOf(entry['lastModified']),
        private: entry['private'] === true,
      };
    });
  }

  /** `GET /api/models/{repo}[/revision/{rev}]?blobs=true`; an unknown repository or revision is a 404 in our shape. */
  async modelInfo(repo: string, revision?: string): Promise<HubModelInfo> {
    const path = revision === undefined ? `/api/models/${repo}` : `/api/models/${repo}/revision/${encodeURIComponent(revision)}`;
    const body = await this.#json(`${path}?blobs=true`, `the repository ${repo}`, repo);
    if (!isRecord(body) || typeof body['sha'] !== 'string') throw errors.hubStatus(`The Hugging Face Hub answered something unexpected for ${repo}.`);
    const siblings = Array.isArray(body['siblings']) ? body['siblings'].filter(isRecord) : [];
    return {
      id: String(body['id'] ?? repo),
      sha: body['sha'],
      private: body['private'] === true,
      gated: typeof body['gated'] === 'string' ? body['gated'] : body['gated'] === true,
      downloads: numberOf(body['downloads']) ?? 0,
      likes: numberOf(body['likes']) ?? 0,
      tags: stringsOf(body['tags']),
      pipeline_tag: stringOf(body['pipeline_tag']),
      library_name: stringOf(body['library_name']),
      last_modified: stringOf(body['lastModified']),
      siblings: siblings.map((sibling) => {
        const lfs = isRecord(sibling['lfs']) && typeof sibling['lfs']['sha256'] === 'string' ? { sha256: sibling['lfs']['sha256'], size: numberOf(sibling['lfs']['size']) ?? 0 } : null;
        return { rfilename: String(sibling['rfilename']), size: numberOf(sibling['size']) ?? lfs?.size ?? null, blobId: stringOf(sibling['blobId']), lfs };
      }),
    };
  }

  /**
   * Opens `/{repo}/resolve/{revision}/{file}`, following the Hub's redirect to
   * its CDN by hand so the token is only ever sent to the Hub itself. `start`
   * asks for the bytes from there on (`Range: bytes=<start>-`).
   */
  async openFile(repo: string, revision: string, file: string, start: number, signal: AbortSignal): Promise<{ statusCode: number; headers: Record<string, string>; hubHeaders: Record<string, string>; body: Dispatcher.ResponseData['body'] }> {
    let url = new URL(`${this.endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${file.split('/').map(encodeURIComponent).join('/')}`);
    let hubHeaders: Record<string, string> | null = null;
    for (let hop = 0; hop <= maxRedirects; hop += 1) {
      const headers: Record<string, string> = { 'user-agent': 'switchyard', ...this.#authFor(url) };
      if (start > 0) headers['range'] = `bytes=${start}-`;
      const response = await this.#send(url, { method: 'GET', headers, signal, headersTimeout: this.#timeoutMs }, `the file ${file}`);
      const flat = flatten(response.headers);
      // The Hub's own answer (not the CDN's): the hop that names the commit, or the first.
      if (hubHeaders === null || (flat['x-repo-commit'] !== undefined && url.origin === this.#origin)) hubHeaders = flat;
      const location = flat['location'];
      if (response.statusCode >= 300 && response.statusCode < 400 && location !== undefined) {
        await response.body.dump();
        url = new URL(location, url);
        continue;
      }
      if (response.statusCode >= 400) {
        const text = await response.body.text().catch(() => '');
        throw this.#statusError(response.statusCode, flat, text, `the file ${file} of ${repo}`, repo);
      }
      return { statusCode: response.statusCode, headers: flat, hubHeaders, body: response.body };
    }
    throw errors.hubStatus(`The Hugging Face Hub redirected the download of ${file} more than ${maxRedirects} times.`);
  }

  #authFor(url: URL): Record<string, string> {
    return this.#token !== null && url.origin === this.#origin ? { authorization: `Bearer ${this.#token.reveal()}` } : {};
  }

  async #json(path: string, what: string, repo?: string): Promise<unknown> {
    const url = new URL(`${this.endpoint}${path}`);
    const response = await this.#send(url, { method: 'GET', headers: { accept: 'application/json', 'user-agent': 'switchyard', ...this.#authFor(url) }, headersTimeout: this.#timeoutMs, bodyTimeout: this.#timeoutMs }, what);
    const text = await response.body.text().catch(() => {
      throw errors.hubUnreachable(`the answer for ${what} broke off`);
    });
    if (response.statusCode >= 400) throw this.#statusError(response.statusCode, flatten(response.headers), text, what, repo);
    try {
      return JSON.parse(text);
    } catch {
      throw errors.hubStatus(`The Hugging Face Hub answered ${what} with something that is not JSON (HTTP ${response.statusCode}).`);
    }
  }

  async #send(url: URL, options: { method: 'GET'; headers: Record<string, string>; signal?: AbortSignal; headersTimeout: number; bodyTimeout?: number }, what: string): Promise<Dispatcher.ResponseData> {
    try {
      return await request(url, { ...options, ...(this.#dispatcher === undefined ? {} : { dispatcher: this.#dispatcher }) });
    } catch (error) {
      if (options.signal?.aborted === true) throw error;
      // undici's messages name the address, never the headers: safe to show.
      const detail = error instanceof Error ? ((error as { code?: string }).code ?? error.message) : 'unknown error';
      throw errors.hubUnreachable(`${this.endpoint} (${what}): ${detail}`);
    }
  }

  #statusError(status: number, headers: Record<string, string>, text: string, what: string, repo?: string): Error {
    const code = headers['x-error-code'] ?? '';
    const hubMessage = (() => {
      try {
        const parsed: unknown = JSON.parse(text);
        return isRecord(parsed) && typeof parsed['error'] === 'string' ? parsed['error'].slice(0, 300) : null;
      } catch {
        return null;
      }
    })();
    // The Hub answers 401 RepoNotFound for a repository it will not show an anonymous caller (unknown or private).
    if (status === 404 || code === 'RepoNotFound' || code === 'RevisionNotFound' || code === 'EntryNotFound') {
      const hint = !this.hasToken && code === 'RepoNotFound' ? ' (a private or gated repository needs HF_TOKEN)' : '';
      const subject = code === 'RevisionNotFound' ? `The revision asked of Hugging Face repository ${repo ?? what}` : code === 'EntryNotFound' || (status === 404 && what.startsWith('the file')) ? `${what.replace(/^the file/, 'The file')}` : `Hugging Face repository ${repo ?? what}`;
      return errors.notFound(`${subject}${hint}`);
    }
    if (status === 403 && code === 'GatedRepo') return errors.hubStatus(`${what} is gated on the Hugging Face Hub: accept its terms there with the account HF_TOKEN belongs to.`);
    if (status === 401 || status === 403) return errors.hubStatus(`The Hugging Face Hub refused ${this.hasToken ? 'HF_TOKEN' : 'an anonymous request'} for ${what} (HTTP ${status}).`);
    return errors.hubStatus(`The Hugging Face Hub answered HTTP ${status} for ${what}${hubMessage === null ? '' : `: ${hubMessage}`}.`);
  }
}

function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  return flat;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
const stringOf = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const numberOf = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const stringsOf = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
