import { z } from 'zod';
import { defineStep } from '../engine/step.js';
import { autoScalingGroup } from './auto-scaling-group.js';

/** Scaling policies and CPU alarms (not built yet: see issue "Compute and GitLab"). */
export const scalingPolicies = defineStep({
  id: 'scaling-policies',
  title: 'Scaling policies and CPU alarms',
  needs: [autoScalingGroup],
  minutes: 0.08,
  outputs: z.object({
    policies: z.object({ up: z.string(), down: z.string() }),
    alarms: z.object({ up: z.string(), down: z.string() }),
  }),
  resources: () => [],
  async create() {
    throw new Error('scaling-policies: not built yet');
  },
  async discover() {
    return [];
  },
  async destroy() {},
});
