import { z } from 'zod';
import { defineStep } from '../engine/step.js';
import { bastionHosts } from './bastion-hosts.js';
import { elasticache } from './elasticache.js';
import { gitaly } from './gitaly.js';
import { iamRole } from './iam-role.js';
import { keyPair } from './key-pair.js';
import { loadBalancer } from './load-balancer.js';
import { machineImages } from './machine-images.js';
import { privateRouteTables } from './private-route-tables.js';
import { rdsPostgres } from './rds-postgres.js';
import { s3Buckets } from './s3-buckets.js';
import { secrets } from './secrets.js';
import { securityGroups } from './security-groups.js';
import { subnets } from './subnets.js';
import { vpc } from './vpc.js';

/** GitLab base instance (not built yet: see issue "Compute and GitLab"). */
export const baseInstance = defineStep({
  id: 'base-instance',
  title: 'GitLab base instance',
  needs: [
    machineImages,
    keyPair,
    vpc,
    subnets,
    securityGroups,
    iamRole,
    secrets,
    s3Buckets,
    loadBalancer,
    rdsPostgres,
    elasticache,
    gitaly,
    bastionHosts,
    privateRouteTables,
  ],
  minutes: 9.5,
  outputs: z.object({ instanceId: z.string(), name: z.string(), privateIp: z.string() }),
  resources: () => [],
  async create() {
    throw new Error('base-instance: not built yet');
  },
  async discover() {
    return [];
  },
  async destroy() {},
});
