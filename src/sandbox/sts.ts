import type { GetCallerIdentityCommandOutput } from '@aws-sdk/client-sts';
import type { Answer, SandboxService } from './core.js';

/** STS keeps nothing: it only says whose account this is. */
export const stsService: SandboxService<Record<string, never>> = {
  operations: {
    GetCallerIdentity: (ctx): Answer<GetCallerIdentityCommandOutput> => ({
      Account: ctx.world.accountId,
      Arn: `arn:aws:iam::${ctx.world.accountId}:user/sandbox`,
      UserId: 'AIDASANDBOXUSER',
    }),
  },
  latency: {},
  empty: () => ({}),
  inventory: () => [],
};
