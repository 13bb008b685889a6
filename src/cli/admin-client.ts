/** A small client for the admin API; errors come back as the API's message. */
export class AdminClient {
  readonly #url: string;
  readonly #key: string | undefined;

  constructor(url: string, key: string | undefined) {
    this.#url = url;
    this.#key = key;
  }

  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#key !== undefined) headers['authorization'] = `Bearer ${this.#key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.#url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    } catch {
      throw new CliError(`Cannot reach Switchyard at ${this.#url}. Is it running? (set --url or SWITCHYARD_URL)`);
    }
    const text = await response.text();
    const parsed: unknown = text === '' ? null : safeParse(text);
    if (!response.ok) {
      const message = (parsed as { error?: { message?: string } } | null)?.error?.message ?? `HTTP ${response.status}`;
      const hint = response.status === 401 ? ' (pass --key or set SWITCHYARD_ADMIN_KEY)' : '';
      throw new CliError(`${message}${hint}`);
    }
    return parsed;
  }
}

export class CliError extends Error {}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Flags every command takes: where Switchyard is and which key to use. */
export const connectionOptions = { url: { type: 'string' }, key: { type: 'string' }, json: { type: 'boolean' } } as const;

export type ClientFactory = (flags: { url?: string; key?: string }) => AdminClient;

/** The client for a command's own --url/--key flags (the environment fills the rest). */
export function clientFor(factory: ClientFactory, values: { url?: string | undefined; key?: string | undefined }): AdminClient {
  return factory({ ...(values.url === undefined ? {} : { url: values.url }), ...(values.key === undefined ? {} : { key: values.key }) });
}

export function lineWriter(out: NodeJS.WritableStream): (text: string) => void {
  return (text) => {
    out.write(`${text}\n`);
  };
}
