import type { EC2, InstanceTypeOffering } from '@aws-sdk/client-ec2';
import { awsError, type SdkOperations } from './core.js';
import { zonesOf } from './ec2.js';

/**
 * The instance types the sandbox knows, with their vCPUs (what the vCPU quota counts). A type not
 * here is offered nowhere, as a misspelt one is on AWS. (The preflight work may grow this table and
 * stage zones that lack a type.)
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

/** EC2's answers about instance types: where each is offered. */
export const instanceTypes: SdkOperations<EC2> = {
  DescribeInstanceTypeOfferings(ctx, input) {
    const locationType = input.LocationType ?? 'region';
    if (locationType !== 'availability-zone' && locationType !== 'region') {
      throw awsError('InvalidParameterValue', `The location type '${locationType}' is not supported here`);
    }
    const wanted = input.Filters?.find((f) => f.Name === 'instance-type')?.Values;
    const types = Object.keys(SANDBOX_INSTANCE_TYPES).filter((t) => !wanted || wanted.includes(t));
    const locations = locationType === 'region' ? [ctx.region] : zonesOf(ctx.region).map((z) => z.ZoneName);
    const offerings: InstanceTypeOffering[] = types.flatMap((type) =>
      locations.map((location) => ({
        InstanceType: type as InstanceTypeOffering['InstanceType'],
        LocationType: locationType,
        Location: location,
      })),
    );
    return { InstanceTypeOfferings: offerings };
  },
};
