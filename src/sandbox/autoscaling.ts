import type { AutoScaling } from '@aws-sdk/client-auto-scaling';
import type { SandboxService, SdkOperations } from './core.js';

export type AutoScalingWorld = Record<string, never>;

const operations: SdkOperations<AutoScaling> = {};

export const autoscalingService: SandboxService<AutoScalingWorld, 'autoscaling'> = {
  name: 'autoscaling',
  operations,
  latency: {},
  empty: () => ({}),
  inventory: () => [],
};
