import { z } from 'zod';
import { defineStep } from '../engine/step.js';
import { iamRole } from './iam-role.js';
import { keyPair } from './key-pair.js';
import { machineImages } from './machine-images.js';
import { privateRouteTables } from './private-route-tables.js';
import { secrets } from './secrets.js';
import { securityGroups } from './security-groups.js';
import { subnets } from './subnets.js';
import { vpc } from './vpc.js';

/** Gitaly (not built yet: see issue "Compute and GitLab"). */
export const gitaly = defineStep({
  id: 'gitaly',
  title: 'Gitaly',
  needs: [machineImages, keyPair, vpc, subnets, securityGroups, iamRole, secrets, privateRouteTables],
  minutes: 0.5,
  outputs: z.object({ instanceId: z.string(), name: z.string(), privateIp: z.string() }),
  resources: () => [],
  async create() {
    throw new Error('gitaly: not built yet');
  },
  async discover() {
    return [];
  },
  async destroy() {},
});
