import { z } from 'zod';
import { defineStep } from '../engine/step.js';
import { autoScalingGroup } from './auto-scaling-group.js';
import { baseInstance } from './base-instance.js';
import { loadBalancer } from './load-balancer.js';

/** Base instance retired (not built yet: see issue "Compute and GitLab"). */
export const retireBaseInstance = defineStep({
  id: 'retire-base-instance',
  title: 'Base instance retired',
  needs: [autoScalingGroup, baseInstance, loadBalancer],
  minutes: 1,
  outputs: z.object({ instanceId: z.string() }),
  resources: () => [],
  async create() {
    throw new Error('retire-base-instance: not built yet');
  },
  async discover() {
    return [];
  },
  async destroy() {},
});
