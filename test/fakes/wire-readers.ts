// Client-side helpers for tests that talk to the fakes: read streamed bodies
// (tolerating mid-stream drops), split SSE/NDJSON framing, poll for events.
export interface StreamRead {
  /** Everything received before the stream ended or failed. */
  text: string;
  /** Number of network chunks received. */
  chunks: number;
  /** The error that ended the stream early (e.g. socket dropped), if any. */
  error?: unknown;
}

/** Reads a fetch body to the end, capturing (not throwing) a mid-stream failure. */
export async function readStream(res: Response, onChunk?: (text: string) => void): Promise<StreamRead> {
  const out: StreamRead = { text: '', chunks: 0 };
  if (res.body === null) return out;
  const decoder = new TextDecoder();
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const text = decoder.decode(value, { stream: true });
      out.text += text;
      out.chunks++;
      onChunk?.(text);
    }
    out.text += decoder.decode();
  } catch (err) {
    out.error = err;
  }
  return out;
}

/**
 * Splits SSE text into the `data:` payloads of complete events (in order).
 * Throws if any non-empty line is not a `data:`/`event:`/`id:`/comment line.
 */
export function sseData(text: string): string[] {
  const events = text.split('\n\n');
  events.pop(); // incomplete tail (or '' after the final separator)
  return events.map((event) => {
    const data: string[] = [];
    for (const line of event.split('\n')) {
      if (line.startsWith('data: ')) data.push(line.slice(6));
      else if (line.startsWith('data:')) data.push(line.slice(5));
      else if (!(line === '' || line.startsWith(':') || line.startsWith('event:') || line.startsWith('id:'))) {
        throw new Error(`not SSE framing: ${JSON.stringify(line)}`);
      }
    }
    return data.join('\n');
  });
}

/** SSE `data:` payloads parsed as JSON, excluding the `[DONE]` marker. */
export function sseJson(text: string): unknown[] {
  return sseData(text)
    .filter((d) => d !== '[DONE]')
    .map((d) => JSON.parse(d) as unknown);
}

/** Complete NDJSON lines parsed as JSON. */
export function ndjson(text: string): unknown[] {
  return text
    .split('\n')
    .slice(0, -1)
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as unknown);
}

/** Polls `check` until it returns true, failing after `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs = 1000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The system error code behind a failed fetch (e.g. ECONNREFUSED), walking `cause` chains. */
export function errorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5; depth++) {
    if (typeof current !== 'object' || current === null) return undefined;
    if ('code' in current && typeof current.code === 'string') return current.code;
    current = 'cause' in current ? current.cause : undefined;
  }
  return undefined;
}

/** POSTs a JSON body (content-type application/json). */
export function postJson(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('content-type', 'application/json');
  return fetch(url, { ...init, method: init.method ?? 'POST', headers, body: JSON.stringify(body) });
}
