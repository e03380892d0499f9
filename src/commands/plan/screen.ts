import type { AwsSession } from '../../aws/clients.js';
import type { InstallConfig } from '../../config/schema.js';
import { costItems, monthlyCost, type MonthlyCost } from '../../pricing/cost.js';
import { priceListPrices } from '../../pricing/price-list.js';
import { builtInPrices, type Prices } from '../../pricing/prices.js';
import { GUIDE } from '../../steps/sections.js';
import { buildPlan, planLines, type PlanView } from '../../ui/plan.js';

export interface PlanScreen {
  view: PlanView;
  cost: MonthlyCost;
  lines: string[];
}

/**
 * The plan as `plan` prints it and `install` shows before its question: the same data, the same
 * words. Prices come from the Price List API when `pricing` can ask it (a real account, or the
 * sandbox's), from the built-in table otherwise, and the screen says which.
 */
export async function planScreen(input: {
  config: InstallConfig;
  sandbox: boolean;
  statusOf: (id: string) => string;
  account?: string | undefined;
  pricing: { clients: Pick<AwsSession, 'pricing' | 'clock'>; label: string } | { none: string };
}): Promise<PlanScreen> {
  const view = buildPlan(GUIDE, input.config, input.sandbox, input.statusOf, input.account);
  const keys = costItems(input.config, view).map((item) => item.key);
  // The NAT gateways' data processing is usage: its per-GB price is quoted beside their hours.
  if (keys.includes('nat')) keys.push('nat-gb');
  const prices: Prices =
    'none' in input.pricing
      ? builtInPrices(input.config.region, input.pricing.none)
      : await priceListPrices(input.pricing.clients.pricing, input.config.region, keys, {
          label: input.pricing.label,
          clock: input.pricing.clients.clock,
        });
  const cost = monthlyCost(input.config, view, prices);
  return { view, cost, lines: planLines(view, input.config, cost) };
}
