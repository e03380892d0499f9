import type { EC2, InstanceTypeInfo, InstanceTypeOffering } from '@aws-sdk/client-ec2';
import { countsAsStandard } from '../aws/offerings.js';
import { awsError, type OperationContext, type SdkOperations } from './core.js';
import { all, state, zonesOf } from './ec2.js';

/**
 * The instance types the sandbox knows, with their vCPUs (what the vCPU quota counts). A type not
 * here is offered nowhere, as a misspelt one is on AWS.
 */
export const SANDBOX_INSTANCE_TYPES: Record<string, { vcpus: number; memoryMiB: number }> = {
  't3.micro': { vcpus: 2, memoryMiB: 1024 },
  't3.small': { vcpus: 2, memoryMiB: 2048 },
  't3.medium': { vcpus: 2, memoryMiB: 4096 },
  't3.large': { vcpus: 2, memoryMiB: 8192 },
  'm5.large': { vcpus: 2, memoryMiB: 8192 },
  'm5.xlarge': { vcpus: 4, memoryMiB: 16384 },
  'm5.2xlarge': { vcpus: 8, memoryMiB: 32768 },
  'c5.xlarge': { vcpus: 4, memoryMiB: 8192 },
  'c5.2xlarge': { vcpus: 8, memoryMiB: 16384 },
  'c5.4xlarge': { vcpus: 16, memoryMiB: 32768 },
  'm6i.large': { vcpus: 2, memoryMiB: 8192 },
  'm6i.xlarge': { vcpus: 4, memoryMiB: 16384 },
  'c6i.2xlarge': { vcpus: 8, memoryMiB: 16384 },
  'r6i.large': { vcpus: 2, memoryMiB: 16384 },
};

/**
 * Zones that lack a type the rest of their region offers, as real regions do (a newer zone
 * without an older family): eu-west-3c has no c5.2xlarge, the guide's GitLab node, so a chosen
 * eu-west-3c is refused; sa-east-1a has none either, so the default there takes 1b and 1c,
 * unless r6i.large is chosen too, which 1b lacks.
 */
const ZONE_GAPS: Record<string, readonly string[]> = {
  'eu-west-3c': ['c5.2xlarge'],
  'sa-east-1a': ['c5.2xlarge'],
  'sa-east-1b': ['r6i.large'],
};

/**
 * The running On-Demand Standard vCPUs a region allows (Service Quotas L-1216C47A): RunInstances
 * refuses beyond it, and Service Quotas answers it. One guide install runs 48 at most.
 */
export const RUNNING_VCPU_LIMIT = 64;

export function offeredIn(zone: string, type: string): boolean {
  return type in SANDBOX_INSTANCE_TYPES && !ZONE_GAPS[zone]?.includes(type);
}

/** The vCPUs of the region's instances that count against the quota: pending or running, standard families. */
export function runningVcpus(ctx: OperationContext): number {
  return all(ctx, 'instance')
    .filter((i) => ['pending', 'running', 'stopping', 'shutting-down'].includes(state(i, ctx.now)))
    .filter((i) => countsAsStandard(i.attrs.instanceType))
    .reduce((sum, i) => sum + (SANDBOX_INSTANCE_TYPES[i.attrs.instanceType]?.vcpus ?? 0), 0);
}

/** What RunInstances (and an Auto Scaling launch) checks of the type before an instance exists. */
export function refuseLaunch(ctx: OperationContext, type: string | undefined, zone: string): void {
  // Without a type AWS launches its default (m1.small); the sandbox leaves that launch unchecked.
  if (type === undefined) return;
  const known = SANDBOX_INSTANCE_TYPES[type];
  if (!known) throw awsError('InvalidParameterValue', `Invalid value '${type}' for InstanceType.`);
  if (!offeredIn(zone, type)) {
    throw awsError('Unsupported', `Your requested instance type (${type}) is not supported in your requested Availability Zone (${zone}).`);
  }
  if (countsAsStandard(type) && runningVcpus(ctx) + known.vcpus > RUNNING_VCPU_LIMIT) {
    throw awsError(
      'VcpuLimitExceeded',
      `You have requested more vCPU capacity than your current vCPU limit of ${RUNNING_VCPU_LIMIT} allows for the instance bucket that the specified instance type belongs to.`,
    );
  }
}

/** EC2's answers about instance types: where each is offered, and what each is. */
export const instanceTypes: SdkOperations<EC2> = {
  DescribeInstanceTypeOfferings(ctx, input) {
    const locationType = input.LocationType ?? 'region';
    if (locationType !== 'availability-zone' && locationType !== 'region') {
      throw awsError('InvalidParameterValue', `The location type '${locationType}' is not supported here`);
    }
    const wanted = input.Filters?.find((f) => f.Name === 'instance-type')?.Values;
    const types = Object.keys(SANDBOX_INSTANCE_TYPES).filter((t) => !wanted || wanted.includes(t));
    const zones = zonesOf(ctx.region).map((z) => z.ZoneName);
    const offerings: InstanceTypeOffering[] = types.flatMap((type) =>
      (locationType === 'region' ? [ctx.region] : zones.filter((zone) => offeredIn(zone, type))).map((location) => ({
        InstanceType: type as InstanceTypeOffering['InstanceType'],
        LocationType: locationType,
        Location: location,
      })),
    );
    return { InstanceTypeOfferings: offerings };
  },

  DescribeInstanceTypes(_ctx, input) {
    const named = input.InstanceTypes ?? Object.keys(SANDBOX_INSTANCE_TYPES);
    const unknown = named.filter((t) => !(t in SANDBOX_INSTANCE_TYPES));
    if (unknown.length)
      throw awsError('InvalidInstanceType', `The following supplied instance types do not exist: [${unknown.join(', ')}]`);
    return {
      InstanceTypes: named.map((type): InstanceTypeInfo => ({
        InstanceType: type as InstanceTypeInfo['InstanceType'],
        VCpuInfo: { DefaultVCpus: SANDBOX_INSTANCE_TYPES[type]!.vcpus },
        MemoryInfo: { SizeInMiB: SANDBOX_INSTANCE_TYPES[type]!.memoryMiB },
      })),
    };
  },
};
