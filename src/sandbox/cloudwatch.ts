import type { CloudWatch } from '@aws-sdk/client-cloudwatch';
import type { SandboxService, SdkOperations } from './core.js';

export type CloudWatchWorld = Record<string, never>;

const operations: SdkOperations<CloudWatch> = {};

export const cloudwatchService: SandboxService<CloudWatchWorld, 'cloudwatch'> = {
  name: 'cloudwatch',
  operations,
  latency: {},
  empty: () => ({}),
  inventory: () => [],
};
