import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PortUnavailableError } from '../../src/http/assert-port-free.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');

function filesUnder(folder: string, extension: string): string[] {
  return readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith(extension))
    .map((name) => join(folder, name));
}

const markdown = ['README.md', ...filesUnder('docs', '.md')];
const examples = filesUnder('examples', '');

describe('the documents', () => {
  it('keep each table in one piece: a row after a blank line is a stray, not a new table', () => {
    const strays: string[] = [];
    for (const path of markdown) {
      const lines = read(path).split('\n');
      lines.forEach((line, index) => {
        const startsTable = line.startsWith('|') && (lines[index - 1] ?? '').trim() === '';
        const isHeader = /^\|[\s:|-]+\|$/.test(lines[index + 1] ?? '');
        if (startsTable && !isHeader) strays.push(`${path}:${index + 1}: ${line.slice(0, 60)}`);
      });
    }
    expect(strays).toEqual([]);
  });

  it('point only at files the repository has', () => {
    const missing: string[] = [];
    for (const path of [...markdown, ...examples]) {
      const text = read(path);
      // Markdown links, relative to the document.
      for (const [, target] of text.matchAll(/\]\((?!https?:|#|mailto:)([^)#\s]+)/g)) {
        if (!existsSync(join(root, dirname(path), target as string))) missing.push(`${path} links ${target}`);
      }
      // Repository paths in backticks (`docs/errors.md`, `test/support/…`); placeholders and build output aside.
      for (const [, target] of text.matchAll(/`((?:docs|examples|deploy|test|src|bin|bench|\.ci)\/[^`\s<>*]+)`/g)) {
        if (!existsSync(join(root, target as string))) missing.push(`${path} names ${target}`);
      }
      // Top-level documents by name: ROADMAP.md, CONTRIBUTING.md, …
      for (const [name] of text.matchAll(/\b[A-Z][A-Z_-]+\.md\b/g)) {
        if (!existsSync(join(root, name))) missing.push(`${path} names ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('include the licence package.json names: the Apache License 2.0, word for word', () => {
    expect(JSON.parse(read('package.json')).license).toBe('Apache-2.0');
    const licence = read('LICENSE');
    expect(licence).toContain('   Copyright 2026 The Switchyard authors\n');
    // The text apache.org publishes (LICENSE-2.0.txt), with its appendix's copyright line filled in.
    const published = licence.replace('Copyright 2026 The Switchyard authors', 'Copyright [yyyy] [name of copyright owner]');
    expect(createHash('sha256').update(published).digest('hex')).toBe('cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30');
  });

  it('quote the errors an operator meets first as Switchyard prints them', () => {
    const readme = read('README.md');
    expect(readme).toContain(`switchyard: ${new PortUnavailableError('0.0.0.0', 8000, 'EADDRINUSE').message}`);
    const nodeTooOld = /`(Switchyard needs Node\.js [^$`]+)\$\{process\.versions\.node\}\.\\n`/.exec(read('bin/switchyard.js'))?.[1];
    expect(nodeTooOld).toBeDefined();
    expect(readme).toContain(nodeTooOld as string);
    expect(readme).toContain(JSON.parse(read('package.json')).engines.node);
  });

  it('keep the two first commands first: install and run, then the tests', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(read('README.md'))?.[1] ?? '';
    expect(firstBlock.split('\n').map((line) => line.split('#')[0]?.trim())).toEqual(['npm install && npm start', 'npm test', '']);
  });
});

