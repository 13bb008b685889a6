// Loaded with `node --import` ahead of a CLI call: on exit, prints every module URL the process
// loaded, one "loaded-module: <url>" line each on stderr, so a test can see a command's import graph.
import { registerHooks } from 'node:module';
import { writeSync } from 'node:fs';

const loaded = new Set<string>();
registerHooks({
  load(url, context, nextLoad) {
    loaded.add(url);
    return nextLoad(url, context);
  },
});
process.on('exit', () => {
  for (const url of loaded) writeSync(2, `loaded-module: ${url}\n`);
});
