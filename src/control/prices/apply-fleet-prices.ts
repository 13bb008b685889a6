import type { FleetFile } from '../../config/fleet-file.ts';
import { applyFleetRecords } from '../fleet/apply-fleet-records.ts';
import type { PriceBook } from './price-book.ts';

/** The fleet file's `prices:` at start (see applyFleetRecords). */
export async function applyFleetPrices(fleet: FleetFile, prices: PriceBook, fileName: string): Promise<void> {
  await applyFleetRecords('prices', fleet.prices, { put: (model, input, options) => prices.put(model, input, options), list: () => prices.list(), remove: (model, actor) => prices.remove(model, actor), modelOf: (price) => price.model }, fileName);
}
