import { defineConfig } from 'vite';

// The console is served by the gateway at /ui, same origin as the API.
export default defineConfig({
  root: new URL('.', import.meta.url).pathname,
  base: '/ui/',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  oxc: { jsx: { runtime: 'automatic' } },
});
