import type { CommandSpec } from './command-spec.ts';

/**
 * `switchyard serve`. Everything the gateway needs is imported only when it runs (or when its help lists
 * the settings): the client commands share this process's start-up and must stay small.
 */
export const serveCommand: CommandSpec = {
  name: 'serve',
  aliases: ['start'],
  summary: 'start the gateway (what npm start runs)',
  description: 'Start the gateway: the OpenAI-compatible API at /v1, the admin API at /api/v1 and the console at /ui.',
  options: [{ name: 'config', short: 'c', type: 'string', value: 'FILE', description: 'a YAML fleet file: gateway settings, servers and routes', default: '$SWITCHYARD_CONFIG, else none' }],
  moreHelp: settingsHelp,
  async run({ options }) {
    const { serve } = await import('../main.ts');
    await serve(options.string('config'));
  },
};

/** Every setting with its variable and default, read from the config schema so the list cannot go stale. */
async function settingsHelp(): Promise<string> {
  const [{ environmentVariables }, { ConfigSchema }] = await Promise.all([import('../config/env-variables.ts'), import('../config/config-schema.ts')]);
  const rows = environmentVariables.map(({ names, path, scale }) => [names.join(', '), path.join('.'), scaled(defaultAt(ConfigSchema, path), scale)]);
  const widths = [0, 1].map((column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return [
    "Settings: defaults, then the fleet file's gateway: section (the keys below), then these environment variables.",
    "The README's Configuration table says what each one does.",
    '',
    ...rows.map(([variables = '', key = '', value = '']) => `  ${variables.padEnd(widths[0] ?? 0)}  ${key.padEnd(widths[1] ?? 0)}  ${value}`.trimEnd()),
  ].join('\n');
}

function defaultAt(schema: unknown, path: readonly string[]): unknown {
  let node = schema;
  for (const key of path) node = (node as { properties?: Record<string, unknown> } | undefined)?.properties?.[key];
  return (node as { default?: unknown } | undefined)?.default;
}

/** A default in the variable's own units (seconds for SWITCHYARD_SHUTDOWN_GRACE_S). */
function scaled(value: unknown, scale: number | undefined): string {
  return scale === undefined || typeof value !== 'number' ? showDefault(value) : `${value / scale} (in ${scale === 1000 ? 'seconds' : `units of ${scale}`})`;
}

function showDefault(value: unknown): string {
  if (value === undefined) return '(not set)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}
