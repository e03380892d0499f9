import type { SandboxService } from './core.js';

/** Service Quotas: the account's limits in a region (preflight reads them). Filled in by the preflight work. */
export const serviceQuotasService: SandboxService<Record<string, never>, 'servicequotas'> = {
  name: 'servicequotas',
  operations: {},
  latency: {},
  empty: () => ({}),
  inventory: () => [],
};
