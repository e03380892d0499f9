import type { EngineStep } from '../engine/run.js';
import { iamRole } from './iam-role.js';
import { vpc } from './vpc.js';
import { subnets } from './subnets.js';
import { internetGateway } from './internet-gateway.js';
import { natGateways } from './nat-gateways.js';
import { publicRouteTable } from './public-route-table.js';
import { privateRouteTables } from './private-route-tables.js';
import { securityGroups } from './security-groups.js';
import { s3Buckets } from './s3-buckets.js';
import { secrets } from './secrets.js';
import { hostedZone } from './hosted-zone.js';
import { tlsCertificate } from './tls-certificate.js';
import { loadBalancer } from './load-balancer.js';
import { dnsRecord } from './dns-record.js';
import { rdsPostgres } from './rds-postgres.js';
import { elasticache } from './elasticache.js';
import { machineImages } from './machine-images.js';
import { keyPair } from './key-pair.js';
import { bastionHosts } from './bastion-hosts.js';
import { gitaly } from './gitaly.js';
import { baseInstance } from './base-instance.js';
import { gitlabAmi } from './gitlab-ami.js';
import { launchTemplate } from './launch-template.js';
import { autoScalingGroup } from './auto-scaling-group.js';
import { scalingPolicies } from './scaling-policies.js';
import { retireBaseInstance } from './retire-base-instance.js';

/**
 * Every step, in the guide's order. The order is what the operator reads (plan, progress list);
 * what runs when is decided by each step's `needs`.
 */
export const GUIDE_STEPS: readonly EngineStep[] = [
  iamRole,
  vpc,
  subnets,
  internetGateway,
  natGateways,
  publicRouteTable,
  privateRouteTables,
  securityGroups,
  s3Buckets,
  secrets,
  hostedZone,
  tlsCertificate,
  loadBalancer,
  dnsRecord,
  rdsPostgres,
  elasticache,
  machineImages,
  keyPair,
  bastionHosts,
  gitaly,
  baseInstance,
  gitlabAmi,
  launchTemplate,
  autoScalingGroup,
  scalingPolicies,
  retireBaseInstance,
];
