// Profiles the real gateway: runs it under `node --cpu-prof` against the fast upstream, drives
// one-at-a-time requests then load through it, stops it (SIGTERM, so the profile is written) and
// prints where its CPU time went (cpuprofile-summary.ts). `node bench/profile-gateway.ts [dir]`;
// PROFILE_SECONDS (default 8) sets the load run, PROFILE_MODE=sequential|load|both (default both).
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startProcess } from './bench-process.ts';
import { benchAuth, registerUpstream, startBenchGateway } from './bench-gateway.ts';
import { timedPost } from './bench-timing.ts';
import { printSummary } from './cpuprofile-summary.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const profileDir = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'switchyard-profile-'));
const seconds = Number(process.env['PROFILE_SECONDS'] ?? 8);
const mode = process.env['PROFILE_MODE'] ?? 'both';
// PROFILE_STREAM=1 profiles streamed answers (one at a time only: each takes the upstream's ~25 ms).
const isStream = process.env['PROFILE_STREAM'] === '1';
const body = JSON.stringify({ model: 'bench-model', messages: [{ role: 'user', content: 'hi' }], ...(isStream ? { stream: true } : {}) });
const headers = { 'content-type': 'application/json', ...benchAuth };

const upstream = await startProcess([join(root, 'bench/bench-upstream.ts')], {}, /(http:\/\/127\.0\.0\.1:\d+)/);
const gateway = await startBenchGateway({ nodeFlags: ['--cpu-prof', '--cpu-prof-dir', profileDir] });
const url = `${gateway.url}/v1/chat/completions`;
try {
  await registerUpstream(gateway.url, upstream.match[1] as string);
  if (mode !== 'load') for (let index = 0; index < 5_000; index++) await timedPost(url, body, headers, isStream);
  if (mode !== 'sequential' && !isStream) {
    const result = await autocannon({ url, method: 'POST', body, headers, connections: 50, duration: seconds });
    process.stderr.write(`load: ${result.requests.average} req/s, ${result.non2xx} non-2xx\n`);
  }
} finally {
  upstream.child.kill('SIGTERM');
  const exited = new Promise((resolve) => gateway.child.once('exit', resolve));
  gateway.child.kill('SIGTERM');
  await exited;
}
const profile = readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
if (profile === undefined) throw new Error(`no profile written in ${profileDir}`);
process.stdout.write(`profile: ${join(profileDir, profile)}\n`);
printSummary(join(profileDir, profile), 40);
