// Preloaded into the gateway by the overload bench (NODE_OPTIONS="--expose-gc --import=<this file>"):
// SIGUSR2 runs a full garbage collection, so the memory read afterwards is what the gateway still holds,
// not garbage V8 has not got round to collecting. Changes nothing else.
process.on('SIGUSR2', () => (globalThis as { gc?: () => void }).gc?.());
