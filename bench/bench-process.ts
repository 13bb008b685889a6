// Starts a benchmark's processes (the fast upstream, the real gateway) and waits for their ready line.
import { spawn, type ChildProcess } from 'node:child_process';

export function startProcess(args: string[], env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (data: Buffer) => {
      output += data.toString();
      const match = ready.exec(output);
      if (match === null) return;
      // From here on its output is drained, not kept: logs at info would otherwise grow a string for the whole run.
      child.stdout?.off('data', onData);
      child.stdout?.resume();
      resolve({ child, match });
    };
    child.stdout?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`process exited (${code}) before it was ready:\n${output}`)));
  });
}
