import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DockerfileParser } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { startTestGateway, type TestGateway } from '../support/gateway-harness.ts';
import { readRepoFile, repoPath, unknownVariables } from './deploy-files.ts';

const run = promisify(execFile);
const text = readRepoFile('Dockerfile');
const dockerfile = DockerfileParser.parse(text);
const instructions = dockerfile.getInstructions();
const stages = dockerfile.getFROMs();
const finalStage = instructions.slice(instructions.indexOf(stages[stages.length - 1] as never));
const lines = text.split('\n');
/** An instruction's arguments as written (flags too), continuation lines joined. */
const argumentsOf = (keyword: string, scope = instructions) =>
  scope
    .filter((instruction) => instruction.getKeyword() === keyword)
    .map((instruction) => {
      const range = instruction.getRange();
      return lines.slice(range.start.line, range.end.line + 1).join('\n').replace(/\\\n\s*/g, '').slice(instruction.getInstruction().length).trim();
    });
/** An exec-form (JSON array) instruction's words. */
const execForm = (keyword: string) => JSON.parse(argumentsOf(keyword, finalStage).at(-1) as string) as string[];

describe('Dockerfile', () => {
  it('passes the Dockerfile linter (dockerfile-utils, the checks of the Dockerfile language server)', () => {
    expect(validate(text).map((diagnostic) => `line ${diagnostic.range.start.line + 1}: ${diagnostic.message}`)).toEqual([]);
    // (and the linter does fail: a misspelt flag and a duplicate stage name)
    expect(validate(`${text}\nFROM node:24-bookworm-slim AS build\nCOPY --form=build a b\n`).length).toBeGreaterThanOrEqual(2);
  });

  it('builds in one stage and runs from a clean Node 24 slim stage: no compilers, console prebuilt, production dependencies only', () => {
    expect(stages.length).toBe(2);
    expect(argumentsOf('ARG')).toContain('NODE_IMAGE=node:24-bookworm-slim');
    for (const stage of stages) expect(stage.getImageName()).toBe('${NODE_IMAGE}');
    const buildSteps = argumentsOf('RUN', instructions.slice(0, instructions.indexOf(stages[1] as never)));
    expect(buildSteps).toContainEqual(expect.stringMatching(/^npm ci --omit=dev\b/));
    expect(buildSteps).toContain('npm run build:ui');
    expect(argumentsOf('RUN', finalStage).join('\n')).not.toMatch(/g\+\+|make|python3|npm (ci|install)/);
    expect(argumentsOf('COPY', finalStage)).toContain('--from=build /app/ui/dist ./ui/dist');
    // Every apt-get install leaves no recommended extras and no package lists behind.
    for (const step of argumentsOf('RUN').filter((line) => line.includes('apt-get install'))) {
      expect(step).toMatch(/--no-install-recommends/);
      expect(step).toMatch(/rm -rf \/var\/lib\/apt\/lists\/\*/);
    }
  });

  it('copies from the context only what exists and .dockerignore lets through', () => {
    const ignore = readRepoFile('.dockerignore').split('\n').map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
    const allowed = ignore.filter((line) => line.startsWith('!')).map((line) => line.slice(1).replace(/\/$/, ''));
    const sources = argumentsOf('COPY').filter((line) => !line.startsWith('--from')).flatMap((line) => line.split(/\s+/).slice(0, -1));
    for (const source of sources) {
      expect(existsSync(repoPath(source)), source).toBe(true);
      expect(allowed.some((entry) => source === entry || source.startsWith(`${entry}/`)), `${source} is let through .dockerignore`).toBe(true);
    }
  });

  it('runs as a numeric non-root user, with the data directory the gateway uses as its volume', () => {
    const user = argumentsOf('USER', finalStage).at(-1) as string;
    expect(user).toMatch(/^[1-9][0-9]*:[1-9][0-9]*$/);
    const environment = Object.fromEntries(finalStage.filter((instruction) => instruction.getKeyword() === 'ENV').flatMap((instruction) => (instruction as any).getProperties().map((property: any) => [property.getName(), property.getValue()])));
    expect(unknownVariables(Object.keys(environment))).toEqual([]);
    const { config } = loadConfig({ env: environment });
    expect(JSON.parse(argumentsOf('VOLUME', finalStage).at(-1) as string)).toEqual([config.data_dir]);
    expect(argumentsOf('EXPOSE', finalStage)).toEqual([String(config.port)]);
  });

  it('runs the CLI under tini, as PID 1, through the entrypoint', () => {
    expect(execForm('ENTRYPOINT')).toEqual(['/usr/bin/tini', '--', '/app/deploy/docker/entrypoint.sh']);
    expect(execForm('CMD')).toEqual(['serve']);
    expect(argumentsOf('STOPSIGNAL', finalStage)).toEqual(['SIGTERM']);
  });

  describe('HEALTHCHECK', () => {
    let gateway: TestGateway;
    beforeAll(async () => {
      gateway = await startTestGateway();
    });
    afterAll(async () => {
      await gateway.stop();
    });

    const healthcheck = () => {
      const words = argumentsOf('HEALTHCHECK', finalStage).at(-1) as string;
      return JSON.parse(words.slice(words.indexOf('CMD') + 3).trim()) as string[];
    };

    it('asks /health on the port the gateway listens on (SWITCHYARD_PORT, then PORT, as src/config reads them)', async () => {
      const [command, ...args] = healthcheck();
      expect(command).toBe('node');
      expect(args.join(' ')).toMatch(/\/health/);
      const port = new URL(gateway.url).port;
      const check = (env: Record<string, string>) =>
        run(process.execPath, args, { env: { PATH: process.env['PATH'] ?? '', ...env } }).then(
          () => 0,
          (error: { code: number }) => error.code,
        );
      expect(await check({ SWITCHYARD_PORT: port })).toBe(0);
      expect(await check({ PORT: port })).toBe(0);
      expect(await check({ SWITCHYARD_PORT: port, PORT: '1' })).toBe(0);
      // Nothing listening there: unhealthy.
      expect(await check({ SWITCHYARD_PORT: '1' })).toBe(1);
      expect((await gateway.api('GET', '/health')).status).toBe(200);
      expect((await gateway.api('GET', '/ready')).status).toBe(200);
    });
  });

  describe('entrypoint', () => {
    // The entrypoint run as the image runs it, from a copy of the app's layout whose CLI prints what it got.
    const app = mkdtempSync(join(tmpdir(), 'switchyard-entrypoint-'));
    const secretFile = join(app, 'admin-key');
    beforeAll(() => {
      mkdirSync(join(app, 'deploy/docker'), { recursive: true });
      mkdirSync(join(app, 'bin'));
      copyFileSync(repoPath('deploy/docker/entrypoint.sh'), join(app, 'deploy/docker/entrypoint.sh'));
      chmodSync(join(app, 'deploy/docker/entrypoint.sh'), 0o755);
      writeFileSync(join(app, 'bin/switchyard.js'), 'console.log(JSON.stringify({ argv: process.argv.slice(2), env: process.env }));\n');
      writeFileSync(secretFile, 'sy-from-a-secret-file-0123456789\n');
    });
    afterAll(() => rmSync(app, { recursive: true, force: true }));

    const start = async (env: Record<string, string>, args: string[] = ['serve']) => {
      const { stdout } = await run(join(app, 'deploy/docker/entrypoint.sh'), args, { cwd: tmpdir(), env: { PATH: process.env['PATH'] ?? '', ...env } });
      return JSON.parse(stdout) as { argv: string[]; env: Record<string, string> };
    };

    it('sets NAME from NAME_FILE (without the trailing newline), keeps a NAME that is set, and passes the arguments on', async () => {
      const fromFile = await start({ SWITCHYARD_ADMIN_KEY_FILE: secretFile, REDIS_URL: 'redis://redis:6379' }, ['serve', '--config', '/etc/switchyard/fleet.yaml']);
      expect(fromFile.argv).toEqual(['serve', '--config', '/etc/switchyard/fleet.yaml']);
      expect(fromFile.env['SWITCHYARD_ADMIN_KEY']).toBe('sy-from-a-secret-file-0123456789');
      expect(fromFile.env['SWITCHYARD_ADMIN_KEY_FILE']).toBeUndefined();
      expect(fromFile.env['REDIS_URL']).toBe('redis://redis:6379');
      const both = await start({ SWITCHYARD_ADMIN_KEY: 'sy-set-directly-0123456789', SWITCHYARD_ADMIN_KEY_FILE: secretFile });
      expect(both.env['SWITCHYARD_ADMIN_KEY']).toBe('sy-set-directly-0123456789');
      const empty = await start({ SWITCHYARD_ADMIN_KEY: '', SWITCHYARD_ADMIN_KEY_FILE: secretFile });
      expect(empty.env['SWITCHYARD_ADMIN_KEY']).toBe('sy-from-a-secret-file-0123456789');
    });

    it('stops with exit code 2, naming the variable, when a NAME_FILE cannot be read', async () => {
      const failure = await start({ DATABASE_URL_FILE: join(app, 'missing') }).then(
        () => null,
        (error: { code: number; stderr: string }) => error,
      );
      expect(failure?.code).toBe(2);
      expect(failure?.stderr).toMatch(/DATABASE_URL_FILE names .*missing, which cannot be read/);
    });

    it('reads the _FILE form only of variables src/config reads', () => {
      expect(unknownVariables(readRepoFile('deploy/docker/entrypoint.sh').match(/^for name in ([A-Z0-9_ ]+); do$/m)?.[1]?.split(' ') ?? ['(none)'])).toEqual([]);
    });
  });
});
