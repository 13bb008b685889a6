import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startOpenAIFake, type OpenAIFake } from '../fakes/index.ts';
import { adminKey, startTestGateway, type TestGateway } from '../support/gateway-harness.ts';

const run = promisify(execFile);
const rulesFile = fileURLToPath(new URL('../../deploy/prometheus/switchyard-alerts.yml', import.meta.url));
const dashboardFile = fileURLToPath(new URL('../../deploy/grafana/switchyard-dashboard.json', import.meta.url));
const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((path) => existsSync(path)) ?? null;
if (promtool === null) {
  if (process.env['CI'] === 'true') throw new Error('promtool (Debian package prometheus) is missing and CI=true: .ci/run installs it');
  process.stderr.write('\n*** promtool not installed (apt-get install prometheus): the alert-rule check is SKIPPED ***\n\n');
}

let gateway: TestGateway;
let upstream: OpenAIFake;
let exposed = new Set<string>();

beforeAll(async () => {
  [gateway, upstream] = await Promise.all([startTestGateway(), startOpenAIFake({ flavor: 'vllm', models: [{ id: 'yi34b', contextLength: 4096 }] })]);
  await gateway.api('POST', '/api/v1/model-servers', { name: 'gpu', server_type: 'vllm', base_url: upstream.url });
  await gateway.api('POST', '/api/v1/model-servers/health-check-all');
  await gateway.api('POST', '/api/v1/keys', { name: 'budgeted', scopes: ['inference'], budget_tokens: 1000 });
  await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'yi34b', messages: [{ role: 'user', content: 'hi' }] }) });
  const text = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } })).text();
  exposed = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap((match) => {
    const name = match[1] as string;
    return match[2] === 'histogram' ? [name, `${name}_bucket`, `${name}_count`, `${name}_sum`] : [name];
  }));
});

afterAll(async () => {
  await Promise.all([gateway.stop(), upstream.stop()]);
});

/** Metric names in a PromQL expression: identifiers that are not functions, keywords, labels or range selectors. */
function metricNames(expression: string): string[] {
  const withoutStrings = expression.replace(/"[^"]*"/g, '""').replace(/\{[^}]*\}/g, '').replace(/\[[^\]]*\]/g, '');
  const words = withoutStrings.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  const notMetrics = new Set(['sum', 'rate', 'by', 'le', 'histogram_quantile', 'clamp_min', 'max', 'model', 'server', 'strategy', 'direction', 'error_type', 'result', 'key_id', 'e', 'without', 'avg', 'count', 'on', 'ignoring', 'and', 'limit', 'topk', 'status', 'cache', 'operation', 'collection', 'api', 'reason']);
  return words.filter((word) => !notMetrics.has(word) && !/^\d/.test(word));
}

describe('shipped Prometheus alert rules', () => {
  it.skipIf(promtool === null)('pass promtool check rules', async () => {
    const { stdout } = await run(promtool as string, ['check', 'rules', rulesFile]);
    expect(stdout).toMatch(/SUCCESS: 6 rules found/);
  });

  it.skipIf(promtool === null)("fire on the gateway's and servers' failures (5xx), not on callers' own refusals (429, 400): promtool test rules", async () => {
    const tests = fileURLToPath(new URL('../../deploy/prometheus/switchyard-alerts.test.yml', import.meta.url));
    const { stdout } = await run(promtool as string, ['test', 'rules', tests]);
    expect(stdout).toMatch(/SUCCESS/);
  });

  it('cover server down, error rate over 10 % for 5 min, p95 over 10 s and budgets near exhaustion, using metrics that exist', () => {
    const document = parseYaml(readFileSync(rulesFile, 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string; for: string }> }> };
    const rules = document.groups.flatMap((group) => group.rules);
    const byName = Object.fromEntries(rules.map((rule) => [rule.alert, rule]));
    expect(byName['SwitchyardModelServerDown']?.expr).toMatch(/max by \(server\) \(model_server_up\) == 0/);
    expect(byName['SwitchyardModelServerUnusable']?.expr).toMatch(/max by \(server\) \(model_server_up\) == 1 and on \(server\) max by \(server\) \(model_server_usable\) == 0/);
    expect(byName['SwitchyardHighErrorRate']).toMatchObject({ for: '5m', expr: expect.stringMatching(/> 0\.10/) });
    expect(byName['SwitchyardHighP95Latency']).toMatchObject({ for: '5m', expr: expect.stringMatching(/histogram_quantile\(0\.95[\s\S]*> 10/) });
    expect(byName['SwitchyardKeyBudgetNearlyExhausted']?.expr).toMatch(/max by \(key_id\) \(llm_key_budget_used_ratio\) > 0\.9/);
    for (const rule of rules) for (const name of metricNames(rule.expr)) expect(exposed.has(name), `${rule.alert}: ${name}`).toBe(true);
  });
});

describe('shipped Grafana dashboard', () => {
  it('queries only metrics Switchyard exposes', () => {
    const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(10);
    const used = new Set<string>();
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        for (const name of metricNames(target.expr.replaceAll('$__rate_interval', '5m'))) {
          used.add(name);
          expect(exposed.has(name), `${panel.title}: ${name}`).toBe(true);
        }
      }
    }
    // Which client API the traffic came in on (openai, ollama, anthropic, responses, rest).
    expect(dashboard.panels.some((panel) => panel.targets.some((target) => /by \(api\)/.test(target.expr)))).toBe(true);
    for (const core of ['llm_requests_total', 'llm_request_duration_seconds_bucket', 'llm_time_to_first_token_seconds_bucket', 'llm_tokens_total', 'model_server_up', 'model_server_usable', 'model_server_status', 'llm_rate_limited_total', 'llm_circuit_state']) expect(used).toContain(core);
  });
});
