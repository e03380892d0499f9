import type { SandboxService } from './core.js';

/** STS keeps nothing: it only says whose account this is. */
export const stsService: SandboxService<Record<string, never>, 'sts'> = {
  name: 'sts',
  operations: {
    GetCallerIdentity: (ctx) => ({
      Account: ctx.world.accountId,
      Arn: `arn:aws:iam::${ctx.world.accountId}:user/sandbox`,
      UserId: 'AIDASANDBOXUSER',
    }),
  },
  latency: {},
  empty: () => ({}),
  inventory: () => [],
};
