/** Where the CLI sends its requests and with which key: flags win over the environment. */
export interface CliSettings {
  url: string;
  key: string | undefined;
}

export function cliSettings(flags: { url?: string | undefined; key?: string | undefined }, env: Record<string, string | undefined> = process.env): CliSettings {
  const port = env['SWITCHYARD_PORT'] ?? env['PORT'] ?? '8000';
  return {
    url: (flags.url ?? env['SWITCHYARD_URL'] ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    key: flags.key ?? env['SWITCHYARD_API_KEY'] ?? env['SWITCHYARD_ADMIN_KEY'],
  };
}
