import type { ServiceQuota } from '@aws-sdk/client-service-quotas';
import { awsError, type SandboxService } from './core.js';
import { VPC_LIMIT } from './ec2.js';
import { RUNNING_VCPU_LIMIT } from './instance-types.js';
import { ADDRESS_LIMIT } from './vpc-network.js';

interface Quota {
  name: string;
  /** What the sandbox enforces: the account's applied value. */
  applied: number;
  /** AWS's default for a new account (GetAWSDefaultServiceQuota). */
  awsDefault: number;
}

/** The quotas the sandbox enforces, by service code and quota code, each read from the rule that enforces it. */
const QUOTAS: Record<string, Record<string, Quota>> = {
  ec2: {
    'L-0263D0A3': { name: 'EC2-VPC Elastic IPs', applied: ADDRESS_LIMIT, awsDefault: 5 },
    'L-1216C47A': {
      name: 'Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances',
      applied: RUNNING_VCPU_LIMIT,
      awsDefault: 5,
    },
  },
  vpc: { 'L-F678F1CE': { name: 'VPCs per Region', applied: VPC_LIMIT, awsDefault: 5 } },
};

function quotaView(
  region: string,
  serviceCode: string | undefined,
  quotaCode: string | undefined,
  value: (q: Quota) => number,
): ServiceQuota {
  const quota = QUOTAS[serviceCode ?? '']?.[quotaCode ?? ''];
  if (!quota)
    throw awsError(
      'NoSuchResourceException',
      `The request failed because the specified quota ${quotaCode} of service ${serviceCode} does not exist.`,
    );
  return {
    ServiceCode: serviceCode,
    QuotaCode: quotaCode,
    QuotaName: quota.name,
    QuotaArn: `arn:aws:servicequotas:${region}::${serviceCode}/${quotaCode}`,
    Value: value(quota),
    Unit: 'None',
    Adjustable: true,
    GlobalQuota: false,
  };
}

/** Service Quotas: the account's limits in a region, as the sandbox enforces them (preflight reads them). */
export const serviceQuotasService: SandboxService<Record<string, never>, 'servicequotas'> = {
  name: 'servicequotas',
  operations: {
    GetServiceQuota: (ctx, input) => ({ Quota: quotaView(ctx.region, input.ServiceCode, input.QuotaCode, (q) => q.applied) }),
    GetAWSDefaultServiceQuota: (ctx, input) => ({
      Quota: quotaView(ctx.region, input.ServiceCode, input.QuotaCode, (q) => q.awsDefault),
    }),
  },
  latency: {},
  empty: () => ({}),
  inventory: () => [],
};
