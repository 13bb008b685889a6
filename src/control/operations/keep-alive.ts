// Go's time.ParseDuration, as Ollama reads a keep_alive string: "5m", "1h30m", "-1s", "300ms".
const goDuration = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$/;

/**
 * True when Ollama would take `value` as a keep_alive: a number of seconds
 * (negative: keep loaded for ever; 0: unload now) or a Go duration string.
 */
export function isKeepAlive(value: unknown): value is string | number {
  if (typeof value === 'number') return Number.isFinite(value);
  return typeof value === 'string' && (value === '0' || goDuration.test(value));
}
