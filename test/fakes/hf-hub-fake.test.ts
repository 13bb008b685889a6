import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ggufRepo, startHfHubFake, type HfHubFake } from './hf-hub-fake.ts';

let hub: HfHubFake;
const repo = ggufRepo('bartowski/Llama-3.2-1B-Instruct-GGUF', [['Q4_K_M', 40_000], ['Q8_0', 60_000]]);

beforeAll(async () => {
  hub = await startHfHubFake({ token: 'hf_fake_token', repos: [repo, ggufRepo('acme/secret-GGUF', [['Q4_0', 1000]], { private: true })] });
});
afterAll(async () => hub.stop());

describe('the fake Hugging Face Hub', () => {
  it('searches by substring and tag, most downloaded first, hiding private repositories from anonymous callers', async () => {
    const hits = (await (await fetch(`${hub.url}/api/models?search=llama&filter=gguf&limit=5`)).json()) as Array<Record<string, unknown>>;
    expect(hits.map((hit) => hit['id'])).toEqual(['bartowski/Llama-3.2-1B-Instruct-GGUF']);
    expect(hits[0]).toMatchObject({ downloads: 1234, likes: 56, tags: expect.arrayContaining(['gguf']), lastModified: expect.any(String) });
    const anonymous = (await (await fetch(`${hub.url}/api/models?search=secret`)).json()) as unknown[];
    expect(anonymous).toEqual([]);
    const withToken = (await (await fetch(`${hub.url}/api/models?search=secret`, { headers: { authorization: 'Bearer hf_fake_token' } })).json()) as unknown[];
    expect(withToken).toHaveLength(1);
  });

  it('answers model info with siblings whose lfs sha256 matches the bytes served', async () => {
    const info = (await (await fetch(`${hub.url}/api/models/${repo.id}/revision/main?blobs=true`)).json()) as { sha: string; siblings: Array<{ rfilename: string; size: number; lfs?: { sha256: string } }> };
    expect(info.sha).toBe(repo.sha);
    const q4 = info.siblings.find((file) => file.rfilename.endsWith('Q4_K_M.gguf'));
    expect(q4).toMatchObject({ size: 40_000, lfs: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    const download = await fetch(`${hub.url}/${repo.id}/resolve/main/${q4?.rfilename}`, { redirect: 'manual' });
    expect(download.status).toBe(302);
    expect(download.headers.get('x-repo-commit')).toBe(repo.sha);
    expect(download.headers.get('x-linked-etag')).toBe(`"${q4?.lfs?.sha256}"`);
    expect(download.headers.get('x-linked-size')).toBe('40000');
    const bytes = Buffer.from(await (await fetch(new URL(download.headers.get('location') as string, hub.url))).arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(q4?.lfs?.sha256);
    const tree = (await (await fetch(`${hub.url}/api/models/${repo.id}/tree/main`)).json()) as unknown[];
    expect(tree).toContainEqual(expect.objectContaining({ type: 'file', path: q4?.rfilename, size: 40_000 }));
  });

  it('serves Range requests, cuts a download mid-way, and corrupts when asked', async () => {
    const cdn = `${hub.url}/cdn/${createHash('sha256').update(repo.files[2]?.content as Buffer).digest('hex')}`;
    const partial = await fetch(cdn, { headers: { range: 'bytes=39990-' } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe('bytes 39990-39999/40000');
    expect((await partial.arrayBuffer()).byteLength).toBe(10);
    hub.setDownloadFault({ kind: 'cut', afterBytes: 1000 });
    await expect(fetch(cdn).then((response) => response.arrayBuffer())).rejects.toThrow();
    hub.setDownloadFault({ kind: 'corrupt' });
    const corrupt = Buffer.from(await (await fetch(cdn)).arrayBuffer());
    hub.setDownloadFault({ kind: 'none' });
    expect(corrupt.equals(repo.files[2]?.content as Buffer)).toBe(false);
    expect(corrupt.length).toBe(40_000);
  });

  it('answers 401 RepoNotFound for a private repository without the token, and info with it', async () => {
    const anonymous = await fetch(`${hub.url}/api/models/acme/secret-GGUF`);
    expect([anonymous.status, anonymous.headers.get('x-error-code')]).toEqual([401, 'RepoNotFound']);
    const authorised = await fetch(`${hub.url}/api/models/acme/secret-GGUF`, { headers: { authorization: 'Bearer hf_fake_token' } });
    expect(authorised.status).toBe(200);
    const missing = await fetch(`${hub.url}/api/models/acme/nothing`, { headers: { authorization: 'Bearer hf_fake_token' } });
    expect([missing.status, missing.headers.get('x-error-code')]).toEqual([404, 'RepoNotFound']);
  });
});
