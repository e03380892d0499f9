import { PRICE_TABLE_AS_OF, tablePrices, type PriceKey } from './table.js';

/** The prices a cost is worked out with, and where they came from, in the words the plan prints. */
export interface Prices {
  /** "AWS Price List API, 2026-12-01", "built-in table of 2026-12-01 (...)". */
  source: string;
  /** What the operator should know of them: another region's figures, items the API did not answer. */
  notes: string[];
  /** The items the Price List API answered (the rest, if any, are the table's). */
  listed?: PriceKey[];
  get(key: PriceKey): number | undefined;
}

/** The built-in table's prices for the region; `why` says why the Price List was not used. */
export function builtInPrices(region: string, why?: string): Prices {
  const { prices, note } = tablePrices(region);
  return {
    source: `built-in table of ${PRICE_TABLE_AS_OF}${why ? ` (${why})` : ''}`,
    notes: note ? [note] : [],
    get: (key) => prices[key],
  };
}
