// `npm run bench` (multi-turn part): chat conversations over prefix-caching
// vLLM fakes (their own process: slots, prompt processing per block not in
// the cache, an LRU prefix cache), through the real gateway (its own
// process), once per routing strategy and in the same run: time to first
// token at the client, the fakes' prefix-cache hit rate, how often a turn
// went where the conversation's previous turn went, and the gateway's
// prefix-affinity decisions. Each turn sends the whole conversation so far
// plus a new user message, so prompts grow and share their prefix.
// Strategies run in ABBA order (BENCH_REPEATS rounds, alternating which goes
// first), the fakes' caches emptied before each, so drift hits all alike.
// Prints tables for docs/benchmarks.md.
import { createHash } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { benchAuth, createRoute, registerServers, startBenchGateway } from './bench-gateway.ts';
import { percentiles } from './bench-timing.ts';
import { startCapacityFleet } from './capacity-fleet.ts';
import { metricByLabel, scrapeMetrics } from './gateway-readings.ts';

const setting = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const conversations = setting('BENCH_CONVERSATIONS', 50);
const turns = setting('BENCH_TURNS', 10);
const concurrent = setting('BENCH_CONCURRENT', 12);
const fakeCount = setting('BENCH_FAKES', 4);
const slots = setting('BENCH_SLOTS', 4);
const prefillMsPerBlock = setting('BENCH_PREFILL_MS_PER_BLOCK', 2);
const cacheBlocks = setting('BENCH_CACHE_BLOCKS', 512);
const tokenIntervalMs = setting('BENCH_TOKEN_INTERVAL_MS', 4);
const replyWords = setting('BENCH_REPLY_WORDS', 24);
const userChars = setting('BENCH_USER_CHARS', 320);
const systemChars = setting('BENCH_SYSTEM_CHARS', 1_024);
const repeats = setting('BENCH_REPEATS', 2);
// A user reads the reply before typing the next turn (uniform from 0 to twice this): without it a conversation's next turn
// leaves just as its last one freed a slot, and least-inflight sends it back to the same server by accident.
const thinkMs = setting('BENCH_THINK_MS', 100);
const strategies = (process.env['BENCH_STRATEGIES'] ?? 'least-inflight,prefix-affinity').split(',').map((name) => name.trim()).filter((name) => name !== '');
const model = 'chat-model';
const blockChars = 64;

const vocabulary = 'the a of to and in is it that for on with as was at by be this from or have an which one you had not but what all were when we there can more if out so said about into than them only its time could some up new two also after first other many these over any where most through years'.split(' ');

/** Deterministic filler text of about `length` characters: the same seed gives the same text. */
function text(seed: string, length: number): string {
  const words: string[] = [];
  let size = 0;
  for (let index = 0; size < length; index++) {
    const digest = createHash('sha256').update(`${seed}:${index}`).digest();
    const word = vocabulary[(digest.readUInt16BE(0) % vocabulary.length) as number] as string;
    words.push(word);
    size += word.length + 1;
  }
  return words.join(' ').slice(0, length);
}

/** A think time, the same for the same seed: uniform from 0 to 2 × thinkMs. */
function pause(seed: string): number {
  return (createHash('sha256').update(seed).digest().readUInt16BE(0) / 65_535) * 2 * thinkMs;
}

// One system prompt for every conversation, as an application's would be.
const systemPrompt = `You are a helpful assistant. ${text('system', systemChars)}`;

interface Turn {
  conversation: number;
  turn: number;
  ttftMs: number;
  totalMs: number;
  status: number;
  server: string;
}

/** One streamed turn: time to the first content delta, and the reply's text. */
async function streamTurn(url: string, route: string, messages: Array<{ role: string; content: string }>): Promise<{ ttftMs: number; totalMs: number; status: number; server: string; reply: string }> {
  const started = performance.now();
  const response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...benchAuth }, body: JSON.stringify({ model: route, messages, stream: true }) });
  const server = String(response.headers['x-switchyard-server'] ?? '');
  if (response.statusCode !== 200) {
    await response.body.dump();
    return { ttftMs: Number.NaN, totalMs: performance.now() - started, status: response.statusCode, server, reply: '' };
  }
  let ttftMs = Number.NaN;
  let reply = '';
  let pending = '';
  for await (const chunk of response.body) {
    pending += (chunk as Buffer).toString('utf8');
    let end: number;
    while ((end = pending.indexOf('\n\n')) !== -1) {
      const event = pending.slice(0, end);
      pending = pending.slice(end + 2);
      const data = event.startsWith('data: ') ? event.slice(6) : '';
      if (data === '' || data === '[DONE]') continue;
      const content = (JSON.parse(data) as { choices?: Array<{ delta?: { content?: string } }> }).choices?.[0]?.delta?.content ?? '';
      if (content === '') continue;
      if (Number.isNaN(ttftMs)) ttftMs = performance.now() - started;
      reply += content;
    }
  }
  return { ttftMs, totalMs: performance.now() - started, status: 200, server, reply };
}

/** `count` conversations of `length` turns, `concurrent` at a time, through `route`. */
async function runWorkload(gatewayUrl: string, route: string, phase: number, count = conversations, length = turns): Promise<{ turns: Turn[]; elapsedMs: number; promptChars: number[] }> {
  const url = `${gatewayUrl}/v1/chat/completions`;
  const done: Turn[] = [];
  const promptChars: number[] = [];
  let next = 0;
  const converse = async (conversation: number) => {
    const messages = [{ role: 'system', content: systemPrompt }];
    for (let turn = 1; turn <= length; turn++) {
      messages.push({ role: 'user', content: text(`${phase}:${conversation}:${turn}`, userChars) });
      const answer = await streamTurn(url, route, messages);
      done.push({ conversation, turn, ttftMs: answer.ttftMs, totalMs: answer.totalMs, status: answer.status, server: answer.server });
      if (answer.status !== 200) return;
      messages.push({ role: 'assistant', content: answer.reply });
      if (turn < length) await sleep(pause(`${phase}:${conversation}:${turn}`));
    }
    promptChars.push(messages.reduce((sum, message) => sum + message.content.length, 0));
  };
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrent, count) }, async () => {
      while (next < count) await converse(next++);
    }),
  );
  return { turns: done, elapsedMs: performance.now() - started, promptChars };
}

interface Phase {
  strategy: string;
  repeat: number;
  turns: Turn[];
  elapsedMs: number;
  promptChars: number[];
  hitRate: number;
  hitRates: number[];
  maxWaiting: number;
  affinity: Map<string, number>;
}

const fleet = await startCapacityFleet({ count: fakeCount, model, capacity: { slots, prefillMsPerBlock, blockChars, prefixCacheBlocks: cacheBlocks }, tokenIntervalMs, replyWords });
const gateway = await startBenchGateway();

try {
  await registerServers(
    gateway.url,
    fleet.urls.map((url, index) => ({ name: `gpu-${index}`, server_type: 'vllm', base_url: url, max_concurrency: slots })),
  );
  // One route per strategy over the same model: same deployments, same admission queue, only the choice differs.
  const accepted: string[] = [];
  const refused: string[] = [];
  for (const strategy of strategies) {
    try {
      await createRoute(gateway.url, { name: `multiturn-${strategy}`, targets: [model], strategy });
      accepted.push(strategy);
    } catch (error) {
      // The gateway's answer names every strategy it knows; the status says enough here.
      const status = /: (\d{3}) /.exec(error instanceof Error ? error.message : '')?.[1] ?? 'an error';
      refused.push(`${strategy} (it answered ${status})`);
    }
  }
  // Warm every path (JIT, pools) with a few short conversations per strategy; each measured phase starts from empty caches.
  for (const strategy of accepted) await warmUp(strategy);
  const phases: Phase[] = [];
  for (let repeat = 0; repeat < repeats; repeat++) {
    const order = repeat % 2 === 0 ? accepted : [...accepted].reverse();
    for (const strategy of order) phases.push(await measure(strategy, repeat, phases.length + 1));
  }
  process.stdout.write(`${report(phases, refused).join('\n')}\n`);
} finally {
  gateway.child.kill('SIGTERM');
  fleet.child.kill('SIGTERM');
}

async function warmUp(strategy: string): Promise<void> {
  const warm = await runWorkload(gateway.url, `multiturn-${strategy}`, -1, Math.min(conversations, 8), Math.min(turns, 3));
  const failed = warm.turns.filter((turn) => turn.status !== 200);
  if (failed.length > 0) throw new Error(`warm-up through multiturn-${strategy}: ${failed.length} turns failed (status ${failed[0]?.status})`);
}

async function measure(strategy: string, repeat: number, phase: number): Promise<Phase> {
  await fleet.reset();
  const before = metricByLabel(await scrapeMetrics(gateway.url), 'llm_prefix_affinity_total', 'result');
  const workload = await runWorkload(gateway.url, `multiturn-${strategy}`, phase);
  const after = metricByLabel(await scrapeMetrics(gateway.url), 'llm_prefix_affinity_total', 'result');
  const readings = (await fleet.readings()).map((entry) => entry.readings);
  const hits = readings.reduce((sum, reading) => sum + reading.prefixHits, 0);
  const queries = readings.reduce((sum, reading) => sum + reading.prefixQueries, 0);
  return {
    strategy,
    repeat,
    ...workload,
    hitRate: hits / Math.max(1, queries),
    hitRates: readings.map((reading) => reading.prefixHits / Math.max(1, reading.prefixQueries)),
    maxWaiting: Math.max(...readings.map((reading) => reading.maxWaiting)),
    affinity: new Map([...after].map(([result, count]) => [result, count - (before.get(result) ?? 0)])),
  };
}

function report(phases: Phase[], refused: string[]): string[] {
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  const share = (value: number) => `${(100 * value).toFixed(1)} %`;
  const allPrompts = phases.flatMap((phase) => phase.promptChars);
  const finalBlocks = allPrompts.length === 0 ? 0 : Math.round(allPrompts.reduce((sum, chars) => sum + chars, 0) / allPrompts.length / blockChars);
  const column = (show: (phase: Phase) => string) => phases.map(show).join(' | ');
  const ttft = (phase: Phase, from: number, to: number) => percentiles(phase.turns.filter((turn) => turn.turn >= from && turn.turn <= to && turn.status === 200).map((turn) => turn.ttftMs));
  const lines = [
    `Switchyard multi-turn bench: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.versions.node}, load average ${loadavg().map((value) => value.toFixed(1)).join(' ')} at the end;` +
      ` ${conversations} conversations × ${turns} turns, ${concurrent} at a time, streaming, ${thinkMs} ms mean think time between turns; ${fakeCount} vLLM fakes × ${slots} slots (max_concurrency ${slots}),` +
      ` prompt processing ${prefillMsPerBlock} ms per ${blockChars}-character block not in the fake's prefix cache, ${cacheBlocks} blocks cached per fake, a token every ${tokenIntervalMs} ms, ${replyWords}-word replies;` +
      ` a ${systemPrompt.length}-character system prompt shared by all, ${userChars}-character user turns; a last turn's prompt is about ${finalBlocks} blocks`,
    '',
    `| measure | ${column((phase) => `${phase.strategy} (${phase.repeat + 1})`)} |`,
    `|---|${phases.map(() => '---|').join('')}`,
    `| time to first token, all turns, p50 / p95 | ${column((phase) => pair(ttft(phase, 1, turns)))} |`,
    `| first turn, p50 / p95 | ${column((phase) => pair(ttft(phase, 1, 1)))} |`,
    `| turns 2–${turns}, p50 / p95 | ${column((phase) => pair(ttft(phase, 2, turns)))} |`,
    `| last turn, p50 / p95 | ${column((phase) => pair(ttft(phase, turns, turns)))} |`,
    `| p50 by turn | ${column((phase) => Array.from({ length: turns }, (_, index) => ttft(phase, index + 1, index + 1).p50.toFixed(0)).join(' '))} |`,
    `| whole turn (to the last token), p50 | ${column((phase) => ms(percentiles(phase.turns.filter((turn) => turn.status === 200).map((turn) => turn.totalMs)).p50))} |`,
    `| wall time for all ${conversations * turns} turns | ${column((phase) => `${(phase.elapsedMs / 1_000).toFixed(1)} s`)} |`,
    `| failed turns | ${column((phase) => String(phase.turns.filter((turn) => turn.status !== 200).length))} |`,
    `| prefix-cache hit rate, all fakes (per fake) | ${column((phase) => `${share(phase.hitRate)} (${phase.hitRates.map((rate) => (100 * rate).toFixed(0)).join(' / ')})`)} |`,
    `| turns 2–${turns} sent where the previous turn went | ${column((phase) => share(stickiness(phase.turns)))} |`,
    `| turns per fake | ${column((phase) => perServer(phase.turns))} |`,
    `| llm_prefix_affinity_total in the phase | ${column((phase) => [...phase.affinity].filter(([, count]) => count > 0).map(([result, count]) => `${result} ${count}`).join(', ') || 'none')} |`,
    `| most waiting inside a fake (0: never sent more than its slots) | ${column((phase) => String(phase.maxWaiting))} |`,
  ];
  const baseline = strategies[0] as string;
  for (const strategy of new Set(phases.map((phase) => phase.strategy))) {
    if (strategy === baseline) continue;
    const ratios = [];
    for (let repeat = 0; repeat < repeats; repeat++) {
      const base = phases.find((phase) => phase.strategy === baseline && phase.repeat === repeat);
      const other = phases.find((phase) => phase.strategy === strategy && phase.repeat === repeat);
      if (base === undefined || other === undefined) continue;
      const [a, b] = [ttft(base, 1, turns), ttft(other, 1, turns)];
      ratios.push(`round ${repeat + 1}: p50 ${(b.p50 / a.p50).toFixed(2)}×, p95 ${(b.p95 / a.p95).toFixed(2)}×`);
    }
    lines.push('', `Time to first token, ${strategy} ÷ ${baseline} (same round): ${ratios.join('; ')}.`);
  }
  for (const entry of refused) lines.push('', `Not measured: the gateway refused a route with strategy ${entry}.`);
  return lines;
}

function pair(values: { p50: number; p95: number }): string {
  return `${values.p50.toFixed(1)} / ${values.p95.toFixed(1)} ms`;
}

/** Share of turns after the first that went to the server the conversation's previous turn went to. */
function stickiness(done: Turn[]): number {
  const byConversation = new Map<number, Turn[]>();
  for (const turn of done) byConversation.set(turn.conversation, [...(byConversation.get(turn.conversation) ?? []), turn]);
  let same = 0;
  let later = 0;
  for (const list of byConversation.values()) {
    list.sort((a, b) => a.turn - b.turn);
    for (let index = 1; index < list.length; index++) {
      later++;
      if ((list[index] as Turn).server === (list[index - 1] as Turn).server) same++;
    }
  }
  return same / Math.max(1, later);
}

function perServer(done: Turn[]): string {
  const counts = new Map<string, number>();
  for (const turn of done) counts.set(turn.server, (counts.get(turn.server) ?? 0) + 1);
  return Array.from({ length: fakeCount }, (_, index) => counts.get(`gpu-${index}`) ?? 0).join(' / ');
}
