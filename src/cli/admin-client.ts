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

  /** Reads a Server-Sent Events stream (`GET path`), handing each event's data, parsed, to `onEvent`, until it ends. */
  async events(path: string, onEvent: (event: string, data: unknown) => void): Promise<void> {
    const url = this.#url;
    const key = this.#key;
    let response: Response;
    try {
      response = await fetch(`${url}${path}`, { headers: { accept: 'text/event-stream', ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) } });
    } catch {
      throw new CliError(`Cannot reach Switchyard at ${url}. Is it running? (set --url or SWITCHYARD_URL)`);
    }
    if (!response.ok || response.body === null) {
      const parsed = safeParse(await response.text()) as { error?: { message?: string } } | null;
      throw new CliError(parsed?.error?.message ?? `HTTP ${response.status}`);
    }
    const decoder = new TextDecoder();
    let pending = '';
    for await (const chunk of response.body) {
      pending += decoder.decode(chunk, { stream: true });
      let end = pending.indexOf('\n\n');
      while (end >= 0) {
        const block = pending.slice(0, end);
        pending = pending.slice(end + 2);
        const name = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (data !== undefined) onEvent(name, safeParse(data));
        end = pending.indexOf('\n\n');
      }
    }
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
