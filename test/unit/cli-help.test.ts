import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/command-table.ts';
import type { CommandSpec } from '../../src/cli/command-spec.ts';
import { runCli } from '../../src/cli/main.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  connected: boolean;
}

/** Runs the CLI in this process; connecting to a gateway is recorded and refused, so nothing reaches the network. */
async function cli(...argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  let connected = false;
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        append(chunk.toString('utf8'));
        callback();
      },
    });
  const code = await runCli(argv, {
    stdout: sink((text) => (stdout += text)),
    stderr: sink((text) => (stderr += text)),
    connect: () => {
      connected = true;
      throw new Error('help must not connect to a gateway');
    },
  });
  return { code, stdout, stderr, connected };
}

/** Every command line in the table, parents included: ["servers"], ["servers", "add"], … */
function commandPaths(list: readonly CommandSpec[], parents: string[] = []): Array<{ path: string[]; command: CommandSpec }> {
  return list.flatMap((command) => {
    const path = [...parents, command.name];
    return [{ path, command }, ...commandPaths(command.subcommands ?? [], path)];
  });
}

const every = commandPaths(commands);

describe('switchyard --help', () => {
  it('covers every command in the table (the list below is not empty by accident)', () => {
    expect(every.map(({ path }) => path.join(' '))).toEqual(expect.arrayContaining(['serve', 'servers', 'servers add', 'servers rm', 'keys', 'keys create', 'keys revoke']));
  });

  it.each(every.map(({ path, command }) => [path.join(' '), path, command] as const))('%s answers --help and -h with its usage and every option with its default, and does nothing else', async (_name, path, command) => {
    for (const flag of ['--help', '-h']) {
      const run = await cli(...path, flag);
      expect(run).toMatchObject({ code: 0, stderr: '', connected: false });
      expect(run.stdout).toMatch(new RegExp(`^Usage: switchyard ${path.join(' ')} `));
      for (const option of command.options ?? []) {
        const shown = option.required === true ? '(required)' : `default: ${option.default})`;
        const line = run.stdout.split('\n').find((text) => new RegExp(`^ +(-\\w, )?--${option.name}\\b`).test(text));
        expect(line, `--${option.name} in ${path.join(' ')} --help`).toBeDefined();
        expect(line).toContain(option.description);
        expect(line).toContain(shown);
      }
      for (const sub of command.subcommands ?? []) expect(run.stdout).toMatch(new RegExp(`^  ${sub.name}\\b.*${escape(sub.summary)}`, 'm'));
      expect(run.stdout).toMatch(/-h, --help/);
    }
    expect((await cli('help', ...path)).stdout).toBe((await cli(...path, '--help')).stdout);
  });

  it('a bare switchyard prints the help, with every command and the version flag', async () => {
    const run = await cli();
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^Usage: switchyard <command>/);
    for (const { path, command } of every) if (command.subcommands === undefined) expect(run.stdout).toContain(`  ${path.join(' ')}`);
    expect(run.stdout).toMatch(/-v, --version/);
    expect((await cli('--help')).stdout).toBe(run.stdout);
    expect((await cli('help')).stdout).toBe(run.stdout);
  });

  it('serve --help lists every setting with its variable and default, without starting a gateway', async () => {
    const run = await cli('serve', '--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/-c, --config FILE .*\(default: \$SWITCHYARD_CONFIG, else none\)/);
    expect(run.stdout).toMatch(/^ {2}SWITCHYARD_PORT, PORT +port +8000$/m);
    expect(run.stdout).toMatch(/^ {2}SWITCHYARD_CONNECT_TIMEOUT_MS +upstream\.connect_timeout_ms +5000$/m);
  });
});

describe('switchyard --version', () => {
  it('prints the version in package.json', async () => {
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default;
    for (const flag of ['--version', '-v']) expect(await cli(flag)).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
  });
});

describe('a command line the CLI cannot read', () => {
  it('an unknown command is one line and a hint, exit 2', async () => {
    expect(await cli('frobnicate')).toMatchObject({ code: 2, stdout: '', stderr: 'switchyard: unknown command "frobnicate".\nRun "switchyard --help" for usage.\n' });
    expect(await cli('servers', 'frobnicate')).toMatchObject({ code: 2, stderr: 'switchyard: unknown command "servers frobnicate".\nRun "switchyard servers --help" for usage.\n' });
    expect(await cli('--frobnicate')).toMatchObject({ code: 2, stderr: 'switchyard: unknown option --frobnicate.\nRun "switchyard --help" for usage.\n' });
  });

  it.each(every.filter(({ command }) => command.run !== undefined).map(({ path }) => [path.join(' '), path] as const))('%s refuses an unknown option before doing anything', async (_name, path) => {
    const run = await cli(...path, '--no-such-option');
    expect(run).toMatchObject({ code: 2, stdout: '', connected: false, stderr: `switchyard: unknown option --no-such-option.\nRun "switchyard ${path.join(' ')} --help" for usage.\n` });
  });

  it('names a missing value, a missing required option, a missing argument and one too many', async () => {
    const refused = async (...argv: string[]) => {
      const run = await cli(...argv);
      expect(run).toMatchObject({ code: 2, connected: false });
      return run.stderr.split('\n')[0];
    };
    expect(await refused('servers', 'add', '--name')).toBe('switchyard: --name needs a value.');
    expect(await refused('servers', 'add', '--name', '--base-url', 'http://x')).toBe('switchyard: --name needs a value (to give one that starts with "-", write --name=VALUE).');
    expect(await refused('servers', 'add', '--name', 'gpu-1')).toBe('switchyard: --base-url is required.');
    expect(await refused('servers', 'rm')).toBe('switchyard: which server? Give its id or name (see: switchyard servers list).');
    expect(await refused('keys', 'revoke', 'a', 'b')).toBe('switchyard: unexpected argument "b".');
    expect(await refused('keys', 'list', '--json=yes')).toBe('switchyard: --json takes no value.');
  });

  it('refuses a priority class or a concurrency it cannot send, before connecting', async () => {
    const refused = async (...argv: string[]) => {
      const run = await cli(...argv);
      expect(run).toMatchObject({ stdout: '', connected: false });
      expect(run.code).toBeGreaterThan(0);
      return run.stderr.split('\n')[0];
    };
    expect(await refused('keys', 'create', '--name', 'app', '--priority', 'urgent')).toBe('switchyard: --priority must be one of interactive, standard, batch.');
    expect(await refused('servers', 'add', '--name', 'gpu-1', '--base-url', 'http://x', '--max-concurrency', '0')).toBe('switchyard: --max-concurrency must be a whole number of at least 1.');
    expect(await refused('servers', 'update', 'gpu-1', '--max-concurrency', 'lots')).toBe('switchyard: --max-concurrency must be a whole number of at least 1.');
    expect(await refused('servers', 'update', 'gpu-1')).toBe('switchyard: Nothing to change: give --max-concurrency, --base-url or --interval.');
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
