import { ConfigError, loadConfig } from './config/load-config.ts';
import { FleetFileError } from './config/fleet-file.ts';
import { startGateway } from './gateway.ts';
import { printBanner } from './start-banner.ts';

/** `switchyard serve`: load config, start, print how to reach it, drain on SIGTERM. */
export async function serve(configFile: string | undefined): Promise<void> {
  let loaded;
  try {
    loaded = loadConfig(configFile === undefined ? {} : { configFile });
  } catch (error) {
    if (error instanceof ConfigError || error instanceof FleetFileError) {
      process.stderr.write(`switchyard: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  // Stopped before it serves (while it waits for its database, say): nothing to drain.
  const stopWhileStarting = (signal: string) => {
    process.stderr.write(`switchyard: ${signal} while starting; stopped\n`);
    process.exit(0);
  };
  process.once('SIGTERM', stopWhileStarting);
  process.once('SIGINT', stopWhileStarting);
  let gateway;
  try {
    gateway = await startGateway(loaded);
    process.off('SIGTERM', stopWhileStarting);
    process.off('SIGINT', stopWhileStarting);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`switchyard: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  printBanner(gateway, loaded.config);

  // The drain is bounded (delay + grace, then each teardown step on its own
  // timeout); this is the backstop should something still hold the process.
  const forceAfterMs = loaded.config.shutdown_delay_ms + loaded.config.shutdown_grace_ms + 15_000;
  const shutdown = (signal: string) => {
    gateway.app.log.info({ signal }, 'shutting down: draining requests');
    const force = setTimeout(() => {
      gateway.app.log.error({ forceAfterMs }, 'shutdown did not finish in time; exiting');
      process.exit(1);
    }, forceAfterMs);
    force.unref();
    gateway.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}
