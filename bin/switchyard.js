#!/usr/bin/env node
// Plain JavaScript on purpose: it must run on any Node to say clearly which one is needed.
// The floor is the highest any dependency needs (undici 8: 22.19); Node 23 strips
// TypeScript types by default only from 23.6. Keep in step with package.json "engines".
import module from 'node:module';
import { fileURLToPath } from 'node:url';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19) || (major === 23 && minor < 6)) {
  process.stderr.write(
    `Switchyard needs Node.js 22.19 or newer (24 LTS recommended); this is Node ${process.versions.node}.\n` +
      'Install a current Node.js from https://nodejs.org/ (or with nvm: "nvm install 24"), then run the command again.\n',
  );
  process.exit(1);
}
// Node keeps each module's compiled code, and (Node 24) its type-stripped TypeScript, between
// runs: a CLI call then skips loading the type stripper, most of its start-up. One entry per
// module, replaced when the file changes. Under node_modules/.cache, not the shared temporary
// directory where another user could plant entries. A cache that cannot be written (read-only
// install) is skipped silently; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
module.enableCompileCache?.(fileURLToPath(new URL('../node_modules/.cache/switchyard-compile-cache', import.meta.url)));
const { runCli } = await import('../src/cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2));
