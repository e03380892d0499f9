import { z } from 'zod';
import { defineStep } from '../engine/step.js';
import { launchTemplate } from './launch-template.js';
import { loadBalancer } from './load-balancer.js';
import { subnets } from './subnets.js';

/** Auto Scaling group (not built yet: see issue "Compute and GitLab"). */
export const autoScalingGroup = defineStep({
  id: 'auto-scaling-group',
  title: 'Auto Scaling group',
  needs: [launchTemplate, subnets, loadBalancer],
  minutes: 6,
  outputs: z.object({ name: z.string(), arn: z.string() }),
  resources: () => [],
  async create() {
    throw new Error('auto-scaling-group: not built yet');
  },
  async discover() {
    return [];
  },
  async destroy() {},
});
