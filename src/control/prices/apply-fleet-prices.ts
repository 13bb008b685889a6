import type { FleetFile } from '../../config/fleet-file.ts';
import { FleetFileError } from '../../config/fleet-file.ts';
import { systemActor } from '../../domain/audit.ts';
import { AppError } from '../../errors/app-error.ts';
import type { PriceBook } from './price-book.ts';

/** The fleet file's `prices:` at start, owned by the file (decision 0010); ones it no longer names are removed. */
export async function applyFleetPrices(fleet: FleetFile, prices: PriceBook, fileName: string): Promise<void> {
  const actor = systemActor('fleet-file');
  for (const [model, input] of Object.entries(fleet.prices)) {
    try {
      await prices.put(model, input, { managedBy: 'fleet', actor });
    } catch (error) {
      if (error instanceof AppError) throw new FleetFileError(`${fileName}: prices.${model}: ${error.message}`);
      throw error;
    }
  }
  for (const price of prices.list()) if (price.managedBy === 'fleet' && fleet.prices[price.model] === undefined) await prices.remove(price.model, actor);
}
