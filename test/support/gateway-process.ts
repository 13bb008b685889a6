import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const binPath = fileURLToPath(new URL('../../bin/switchyard.js', import.meta.url));

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
  kill: (signal?: NodeJS.Signals) => Promise<number | null>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** What spawnGateway waits for: the banner, or the log line of a gateway waiting for its database (with the port it answers on). */
const awaited = {
  banner: /Switchyard is listening on [^\s:]+:(\d+)/,
  'waiting-for-database': /"url":"http:\/\/[^"]*:(\d+)"[^\n]*waiting for the database before starting/,
} as const;

/** Runs `switchyard serve` as a real process (the way `npm start` does; another checkout's with `bin`) and waits for its banner. */
export async function spawnGateway(env: Record<string, string>, args: string[] = [], options: { bin?: string; until?: keyof typeof awaited } = {}): Promise<GatewayProcess> {
  const child = spawn(process.execPath, [options.bin ?? binPath, 'serve', ...args], {
    env: { PATH: process.env['PATH'] ?? '', SWITCHYARD_PORT: '0', SWITCHYARD_HOST: '127.0.0.1', SWITCHYARD_DISCOVER_LOCAL_OLLAMA: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  running.add(child);
  void exited.then(() => running.delete(child));
  // No start-up timer of our own: a loaded machine can take well over 15 s to start Node and strip the
  // app's TypeScript, and the test's own timeout already bounds the wait. A child still running when
  // the test worker exits (a failed or timed-out test) is killed by the exit hook below.
  const port = await new Promise<string>((resolve, reject) => {
    const onData = () => {
      const match = awaited[options.until ?? 'banner'].exec(output);
      if (match !== null) resolve(match[1] as string);
    };
    child.stdout?.on('data', onData);
    void exited.then(() => reject(new Error(`gateway exited early:\n${output}`)));
  });
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    exited,
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
      return exited;
    },
  };
}
