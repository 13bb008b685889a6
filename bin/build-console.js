#!/usr/bin/env node
// Runs before `npm start` (prestart): builds the console (ui/ → ui/dist) when
// it is missing or older than its sources, so a production install
// (`npm ci --omit=dev`) starts with the console, and a restart does not rebuild.
// Plain JavaScript: it runs before anything else and needs nothing but Node.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ui = join(root, 'ui');
const built = join(ui, 'dist', 'index.html');

function newestChange(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestChange(join(path, entry)));
  return newest;
}

const sources = [join(ui, 'src'), join(ui, 'public'), join(ui, 'index.html'), join(ui, 'vite.config.ts')].filter((path) => existsSync(path));
if (existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources.map(newestChange))) process.exit(0);

let vite;
try {
  vite = await import('vite');
} catch {
  // The gateway still starts (the API does not need the console); /ui explains what is missing.
  process.stderr.write('switchyard: the console is not built and Vite is not installed; run "npm ci" (Vite is a dependency), then "npm run build:ui".\n');
  process.exit(0);
}
process.stdout.write('switchyard: building the console (ui/dist)…\n');
try {
  await vite.build({ configFile: join(ui, 'vite.config.ts'), logLevel: 'warn' });
} catch (error) {
  process.stderr.write(`switchyard: the console build failed (${error instanceof Error ? error.message : error}); starting without it.\n`);
}
process.exit(0);
