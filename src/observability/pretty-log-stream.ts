import type { DestinationStream } from 'pino';

const levelNames: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const levelColours: Record<number, string> = { 10: '90', 20: '90', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Fields every line has, or that the line's head (or tail, for the request id) already shows. */
const shownElsewhere = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'method', 'path', 'status', 'reqId']);

/**
 * pino's JSON lines made readable for a person at a terminal:
 * `12:04:31.207 INFO  request POST /v1/chat/completions 200 model=yi34b server=gpu-0 …`.
 * A small formatter of our own rather than pino-pretty: it runs in-process and
 * synchronously (no transport worker), knows the request summary's shape, and
 * adds no dependency. Redaction has already happened in pino by the time a line
 * gets here.
 */
export function prettyLogStream(destination: NodeJS.WritableStream, options: { colours: boolean }): DestinationStream {
  return {
    write(line: string): void {
      destination.write(formatLine(line, options.colours));
    },
  };
}

export function formatLine(line: string, colours: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level = typeof entry['level'] === 'number' ? entry['level'] : 30;
  const paint = (code: string, text: string) => (colours ? `\u001b[${code}m${text}\u001b[0m` : text);
  const time = typeof entry['time'] === 'number' ? new Date(entry['time']).toISOString().slice(11, 23) : '';
  const parts = [paint('90', time), paint(levelColours[level] ?? '0', levelNames[level] ?? String(level)), String(entry['msg'] ?? '')];
  if (entry['method'] !== undefined && entry['path'] !== undefined) parts.push(`${String(entry['method'])} ${String(entry['path'])}`);
  if (entry['status'] !== undefined) parts.push(paint(statusColour(entry['status']), String(entry['status'])));
  let stack = '';
  for (const [name, value] of Object.entries(entry)) {
    if (shownElsewhere.has(name) || value === null || value === undefined) continue;
    if (name === 'served_model' && value === entry['model']) continue;
    if (name === 'err' && typeof value === 'object') {
      const error = value as { message?: unknown; stack?: unknown };
      parts.push(`err=${quoted(String(error.message ?? ''))}`);
      if (typeof error.stack === 'string') stack = `\n    ${error.stack.split('\n').join('\n    ')}`;
      continue;
    }
    parts.push(`${paint('90', `${name}=`)}${typeof value === 'string' ? quoted(value) : JSON.stringify(value)}`);
  }
  if (typeof entry['reqId'] === 'string') parts.push(paint('90', `reqId=${quoted(entry['reqId'])}`));
  return `${parts.join(' ')}${stack}\n`;
}

function statusColour(status: unknown): string {
  const code = Number(status);
  return code >= 500 ? '31' : code >= 400 ? '33' : '32';
}

/** Bare when it reads unambiguously, JSON-quoted when it has spaces, quotes, `=` or control characters. */
function quoted(value: string): string {
  return value !== '' && !/[\s"=\u0000-\u001f\u007f]/.test(value) ? value : JSON.stringify(value);
}
