// A fake Hugging Face Hub over a real socket, in the Hub's own shapes:
// GET /api/models (search), /api/models/{repo}[/revision/{rev}]?blobs=true
// (info with siblings: rfilename, size, blobId, lfs {sha256, size, pointerSize}),
// /api/models/{repo}/tree/{rev}, and /{repo}/resolve/{rev}/{file}, which for LFS
// files redirects (302) to a CDN-like /cdn/… path on the same fake; both serve
// Range requests (206 + Content-Range). Private repositories need the token
// (anonymous: 401 with X-Error-Code: RepoNotFound, as the Hub answers).
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface FakeHubFile {
  name: string;
  content: Buffer;
  /** Stored in LFS (a sha256 oid and a redirect to the CDN); small text files are not. */
  lfs: boolean;
}

export interface FakeHubRepo {
  id: string;
  sha: string;
  private?: boolean;
  downloads?: number;
  likes?: number;
  tags?: string[];
  pipeline_tag?: string;
  library_name?: string;
  lastModified?: string;
  files: FakeHubFile[];
}

export type DownloadFault =
  | { kind: 'none' }
  /** The next file response sends this many body bytes, then the connection is cut. Applies once. */
  | { kind: 'cut'; afterBytes: number }
  /** Every file response serves bytes that do not hash to the promised sha256 (same size). */
  | { kind: 'corrupt' };

export interface HubRecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface HfHubFake {
  url: string;
  requests: HubRecordedRequest[];
  repos: Map<string, FakeHubRepo>;
  addRepo: (repo: FakeHubRepo) => void;
  setDownloadFault: (fault: DownloadFault) => void;
  /** Body bytes per write and the pause between writes (a download slow enough to watch). */
  setThrottle: (throttle: { chunkBytes: number; intervalMs: number } | null) => void;
  stop: () => Promise<void>;
}

export interface HfHubFakeOptions {
  /** The token private repositories need (Authorization: Bearer <token>). */
  token?: string;
  repos?: FakeHubRepo[];
  /** Redirect LFS downloads to this other origin's /cdn/… (another fake holding the same repositories), as the real Hub does. */
  cdnUrl?: string;
}

/** Deterministic bytes of a given size, starting with the GGUF magic. */
export function fakeGguf(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  let state = (seed * 2654435761) >>> 0 || 1;
  for (let index = 0; index < size; index += 1) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[index] = state & 0xff;
  }
  bytes.write('GGUF', 0, 'latin1');
  return bytes;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const gitBlobId = (bytes: Buffer) => createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');

/** A GGUF repository like bartowski's: a README, one file per quantisation. */
export function ggufRepo(id: string, quants: Array<[string, number]>, extra: Partial<FakeHubRepo> = {}): FakeHubRepo {
  const base = id.split('/')[1]?.replace(/-GGUF$/i, '') ?? id;
  return {
    id,
    sha: createHash('sha1').update(id).digest('hex'),
    downloads: 1234,
    likes: 56,
    tags: ['gguf', 'text-generation', 'llama'],
    pipeline_tag: 'text-generation',
    library_name: 'gguf',
    lastModified: '2024-09-25T18:30:00.000Z',
    files: [
      { name: '.gitattributes', content: Buffer.from('*.gguf filter=lfs diff=lfs merge=lfs -text\n'), lfs: false },
      { name: 'README.md', content: Buffer.from(`# ${id}\n\nGGUF quantisations.\n`), lfs: false },
      ...quants.map(([quant, size], index) => ({ name: `${base}-${quant}.gguf`, content: fakeGguf(size, index + 1), lfs: true })),
    ],
    ...extra,
  };
}

export async function startHfHubFake(options: HfHubFakeOptions = {}): Promise<HfHubFake> {
  const repos = new Map<string, FakeHubRepo>();
  for (const repo of options.repos ?? []) repos.set(repo.id, repo);
  const requests: HubRecordedRequest[] = [];
  let fault: DownloadFault = { kind: 'none' };
  let throttle: { chunkBytes: number; intervalMs: number } | null = null;
  const sockets = new Set<Socket>();

  const json = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    response.end(JSON.stringify(body));
  };
  const authorised = (request: IncomingMessage) => options.token !== undefined && request.headers.authorization === `Bearer ${options.token}`;
  const badToken = (request: IncomingMessage) => request.headers.authorization !== undefined && !authorised(request);

  /** The repository as this caller may see it, or the Hub's refusal already sent. */
  const visibleRepo = (request: IncomingMessage, response: ServerResponse, id: string): FakeHubRepo | null => {
    if (badToken(request)) {
      json(response, 401, { error: 'Invalid credentials in Authorization header' });
      return null;
    }
    const repo = repos.get(id);
    if (repo === undefined || (repo.private === true && !authorised(request))) {
      // Anonymous callers cannot tell a private repository from a missing one.
      json(response, authorised(request) ? 404 : 401, { error: 'Repository not found' }, { 'x-error-code': 'RepoNotFound' });
      return null;
    }
    return repo;
  };
  const revisionOk = (repo: FakeHubRepo, revision: string) => revision === 'main' || revision === repo.sha;

  const sibling = (file: FakeHubFile) => ({
    rfilename: file.name,
    blobId: file.lfs ? createHash('sha1').update(file.name).digest('hex') : gitBlobId(file.content),
    size: file.content.length,
    ...(file.lfs ? { lfs: { sha256: sha256(file.content), size: file.content.length, pointerSize: 134 } } : {}),
  });
  const info = (repo: FakeHubRepo) => ({
    _id: repo.sha.slice(0, 24),
    id: repo.id,
    modelId: repo.id,
    author: repo.id.split('/')[0],
    sha: repo.sha,
    lastModified: repo.lastModified ?? '2024-01-01T00:00:00.000Z',
    private: repo.private === true,
    disabled: false,
    gated: false,
    downloads: repo.downloads ?? 0,
    likes: repo.likes ?? 0,
    tags: repo.tags ?? [],
    pipeline_tag: repo.pipeline_tag,
    library_name: repo.library_name,
    createdAt: '2024-01-01T00:00:00.000Z',
    siblings: repo.files.map(sibling),
    spaces: [],
  });

  /** Sends a file's bytes, honouring Range and the scripted fault. */
  const sendBytes = (request: IncomingMessage, response: ServerResponse, file: FakeHubFile, headers: Record<string, string>) => {
    let content = file.content;
    if (fault.kind === 'corrupt') {
      content = Buffer.from(content);
      content[content.length - 1] = (content[content.length - 1] ?? 0) ^ 0xff;
    }
    const total = content.length;
    const range = /^bytes=(\d+)-(\d*)$/.exec(String(request.headers.range ?? ''));
    let start = 0;
    let end = total - 1;
    if (range !== null) {
      start = Number(range[1]);
      end = range[2] === '' ? total - 1 : Math.min(Number(range[2]), total - 1);
      if (start >= total) {
        response.writeHead(416, { 'content-range': `bytes */${total}` });
        return void response.end();
      }
    }
    const body = content.subarray(start, end + 1);
    response.writeHead(range === null ? 200 : 206, {
      'content-type': 'application/octet-stream',
      'content-length': String(body.length),
      'accept-ranges': 'bytes',
      ...(range === null ? {} : { 'content-range': `bytes ${start}-${end}/${total}` }),
      ...headers,
    });
    if (request.method === 'HEAD') return void response.end();
    const cutAt = fault.kind === 'cut' ? fault.afterBytes : null;
    if (fault.kind === 'cut') fault = { kind: 'none' };
    const limit = cutAt === null ? body.length : Math.min(cutAt, body.length);
    const chunkBytes = throttle?.chunkBytes ?? 64 * 1024;
    const intervalMs = throttle?.intervalMs ?? 0;
    let offset = 0;
    const writeNext = () => {
      if (response.destroyed) return;
      if (offset >= limit) {
        if (cutAt !== null && limit < body.length) return void response.socket?.destroy();
        return void response.end();
      }
      const piece = body.subarray(offset, Math.min(offset + chunkBytes, limit));
      offset += piece.length;
      const more = response.write(piece);
      const next = () => (intervalMs > 0 ? setTimeout(writeNext, intervalMs) : setImmediate(writeNext));
      if (more) next();
      else response.once('drain', next);
    };
    writeNext();
  };

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://fake');
    const path = decodeURIComponent(url.pathname);
    requests.push({ method: request.method ?? 'GET', path: `${url.pathname}${url.search}`, headers: request.headers });

    if (path === '/api/models') {
      if (badToken(request)) return json(response, 401, { error: 'Invalid credentials in Authorization header' });
      const search = (url.searchParams.get('search') ?? '').toLowerCase();
      const filters = (url.searchParams.get('filter') ?? '').split(',').filter((tag) => tag !== '');
      const limit = Number(url.searchParams.get('limit') ?? '1000');
      const hits = [...repos.values()]
        .filter((repo) => repo.private !== true || authorised(request))
        .filter((repo) => repo.id.toLowerCase().includes(search))
        .filter((repo) => filters.every((tag) => (repo.tags ?? []).includes(tag)))
        .sort((a, b) => (b.downloads ?? 0) - (a.downloads ?? 0))
        .slice(0, limit)
        .map((repo) => {
          const { siblings: _siblings, author: _author, disabled: _disabled, spaces: _spaces, ...hit } = info(repo);
          return hit;
        });
      return json(response, 200, hits);
    }

    const api = /^\/api\/models\/([^/]+\/[^/]+?)(?:\/(revision|tree)\/([^/]+)(\/.*)?)?$/.exec(path);
    if (api !== null) {
      const repo = visibleRepo(request, response, api[1] as string);
      if (repo === null) return;
      const revision = api[3] ?? 'main';
      if (!revisionOk(repo, revision)) return json(response, 404, { error: `Invalid rev id: ${revision}` }, { 'x-error-code': 'RevisionNotFound' });
      if (api[2] === 'tree') {
        return json(
          response,
          200,
          repo.files.map((file) => ({ type: 'file', oid: sibling(file).blobId, size: file.content.length, path: file.name, ...(file.lfs ? { lfs: { oid: sha256(file.content), size: file.content.length, pointerSize: 134 } } : {}) })),
        );
      }
      return json(response, 200, info(repo));
    }

    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(path);
    if (cdn !== null) {
      const file = [...repos.values()].flatMap((repo) => repo.files).find((candidate) => candidate.lfs && sha256(candidate.content) === cdn[1]);
      if (file === undefined) return json(response, 404, { error: 'Not found' });
      return sendBytes(request, response, file, { etag: `"${cdn[1]}"` });
    }

    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (resolve !== null) {
      const repo = visibleRepo(request, response, resolve[1] as string);
      if (repo === null) return;
      if (!revisionOk(repo, resolve[2] as string)) return json(response, 404, { error: `Invalid rev id: ${resolve[2]}` }, { 'x-error-code': 'RevisionNotFound' });
      const file = repo.files.find((candidate) => candidate.name === resolve[3]);
      if (file === undefined) return json(response, 404, { error: 'Entry not found' }, { 'x-error-code': 'EntryNotFound' });
      const common = { 'x-repo-commit': repo.sha };
      if (file.lfs) {
        const oid = sha256(file.content);
        response.writeHead(302, { ...common, location: `${options.cdnUrl ?? ''}/cdn/${oid}?X-Amz-Signature=fake`, 'x-linked-etag': `"${oid}"`, 'x-linked-size': String(file.content.length), etag: `"${sibling(file).blobId}"` });
        return void response.end();
      }
      return sendBytes(request, response, file, { ...common, etag: `"${gitBlobId(file.content)}"` });
    }
    json(response, 404, { error: 'Not found' });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    repos,
    addRepo: (repo) => void repos.set(repo.id, repo),
    setDownloadFault: (next) => {
      fault = next;
    },
    setThrottle: (next) => {
      throttle = next;
    },
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
    },
  };
}
