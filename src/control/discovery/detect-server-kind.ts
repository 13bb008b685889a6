import type { ServerKind } from '../../domain/server-kind.ts';
import type { AdapterContext } from '../../data/adapters/server-adapter.ts';
import { upstreamCall } from '../../data/adapters/server-adapter.ts';
import type { DetectionAnswer, DetectionRule } from '../../data/adapters/server-kind-module.ts';
import { serverKindModules } from '../../data/adapters/server-kinds.ts';
import { UpstreamError } from '../../data/upstream/upstream-error.ts';

export interface Detection {
  kind: ServerKind;
  flavor: string | null;
  /** The answer that decided it, e.g. "GET /api/version". */
  detected_by: string;
  version: string | null;
}

type Answer = DetectionAnswer & { error: UpstreamError | null };

/**
 * Finds what kind of server answers at a URL: asks every kind's signature
 * endpoints at once (all free: no generation), then lets the most specific
 * rule that recognises its answers decide.
 */
export async function detectServerKind(context: AdapterContext): Promise<Detection> {
  const rules: Array<DetectionRule & { kind: string }> = serverKindModules()
    .flatMap((module) => module.detection.map((rule) => ({ ...rule, kind: module.id })))
    .sort((a, b) => b.precedence - a.precedence);
  const paths = [...new Set(rules.flatMap((rule) => rule.paths))];
  const answers = new Map<string, Answer>(await Promise.all(paths.map(async (path) => [path, await ask(context, path)] as const)));
  for (const rule of rules) {
    const match = rule.recognise(answers);
    if (match !== null) return { kind: rule.kind, flavor: match.flavor, detected_by: match.detectedBy, version: match.version };
  }
  const all = [...answers.values()];
  throw new DetectionError(explainFailure(all, paths, context.apiKey !== null), { transport: transportFailure(all), authStatus: authFailure(all) });
}

async function ask(context: AdapterContext, path: string): Promise<Answer> {
  try {
    const response = await context.http.text(upstreamCall(context, path, `GET ${path}`));
    const ok = response.status >= 200 && response.status < 300;
    return { ok, status: response.status, body: ok ? tryParse(response.text) : null, text: ok ? response.text : '', error: null };
  } catch (error) {
    return { ok: false, status: null, body: null, text: '', error: error instanceof UpstreamError ? error : null };
  }
}

export class DetectionError extends Error {
  /** The transport error when nothing answered at all (refused, timed out); null when something answered. */
  readonly transport: UpstreamError | null;
  /** 401 or 403 when a signature endpoint refused the key. */
  readonly authStatus: number | null;

  constructor(message: string, details: { transport?: UpstreamError | null; authStatus?: number | null } = {}) {
    super(message);
    this.name = 'DetectionError';
    this.transport = details.transport ?? null;
    this.authStatus = details.authStatus ?? null;
  }
}

function authFailure(answers: Answer[]): number | null {
  return answers.find((answer) => !answer.ok && (answer.status === 401 || answer.status === 403))?.status ?? null;
}

function transportFailure(answers: Answer[]): UpstreamError | null {
  return answers.every((answer) => !answer.ok && answer.error !== null) ? (answers[0]?.error ?? null) : null;
}

function explainFailure(answers: Answer[], paths: string[], hasKey: boolean): string {
  const authStatus = authFailure(answers);
  if (authStatus !== null) {
    return hasKey ? `the server rejected the API key (HTTP ${authStatus})` : `the server requires an API key (HTTP ${authStatus})`;
  }
  const transport = transportFailure(answers);
  if (transport !== null) return transport.message.replace(/^GET \S+: /, '');
  return `no known model-server API answered (tried ${paths.join(', ')})`;
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
