import { CliError } from './cli-error.ts';

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

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Makes the client for a call's --url/--key (the environment fills in the rest). */
export type ClientFactory = (flags: { url?: string; key?: string }) => AdminClient;
