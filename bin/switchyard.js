#!/usr/bin/env node
// Plain JavaScript on purpose: it must run on any Node to say clearly which one is needed.
// The floor is the highest any dependency needs (undici 8: 22.19); Node 23 strips
// TypeScript types by default only from 23.6. Keep in step with package.json "engines".
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19) || (major === 23 && minor < 6)) {
  process.stderr.write(
    `Switchyard needs Node.js 22.19 or newer (24 LTS recommended); this is Node ${process.versions.node}.\n` +
      'Install a current Node.js from https://nodejs.org/ (or with nvm: "nvm install 24"), then run the command again.\n',
  );
  process.exit(1);
}
const { runCli } = await import('../src/cli/main.ts');
process.exitCode = await runCli(process.argv.slice(2));
