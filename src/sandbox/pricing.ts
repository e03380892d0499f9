import type { SandboxService } from './core.js';

/** The AWS Price List API (GetProducts), for the plan's monthly cost. Filled in by the plan's cost work. */
export const pricingService: SandboxService<Record<string, never>, 'pricing'> = {
  name: 'pricing',
  operations: {},
  latency: {},
  empty: () => ({}),
  inventory: () => [],
};
