import type { EC2 } from '@aws-sdk/client-ec2';
import type { InstallConfig } from '../config/schema.js';

/** The instance types the answers choose, each with the answer that chose it. */
export function chosenInstanceTypes(config: InstallConfig): Array<{ key: string; type: string }> {
  return [
    { key: 'gitlab.instanceType', type: config.gitlab.instanceType },
    { key: 'gitaly.instanceType', type: config.gitaly.instanceType },
    { key: 'bastion.instanceType', type: config.bastion.instanceType },
  ];
}

/**
 * The region's Availability Zones that offer every one of `instanceTypes` (EC2
 * DescribeInstanceTypeOfferings by zone), sorted by name. The wizard offers these; preflight
 * refuses chosen zones outside them (a zone lacking c5.2xlarge fails only at the base instance,
 * half an hour into the install).
 */
export async function zonesOffering(ec2: Pick<EC2, 'describeInstanceTypeOfferings'>, instanceTypes: readonly string[]): Promise<string[]> {
  const wanted = [...new Set(instanceTypes)];
  return [...(await offeringsByZone(ec2, wanted))]
    .filter(([, types]) => wanted.every((t) => types.has(t)))
    .map(([zone]) => zone)
    .sort();
}

/** Which of `instanceTypes` each zone of the region offers (a zone offering none of them is absent). */
export async function offeringsByZone(
  ec2: Pick<EC2, 'describeInstanceTypeOfferings'>,
  instanceTypes: readonly string[],
): Promise<Map<string, Set<string>>> {
  const offeredIn = new Map<string, Set<string>>();
  let NextToken: string | undefined;
  do {
    const page = await ec2.describeInstanceTypeOfferings({
      LocationType: 'availability-zone',
      Filters: [{ Name: 'instance-type', Values: [...new Set(instanceTypes)] }],
      ...(NextToken ? { NextToken } : {}),
    });
    for (const offering of page.InstanceTypeOfferings ?? []) {
      if (!offering.Location || !offering.InstanceType) continue;
      const types = offeredIn.get(offering.Location) ?? new Set<string>();
      types.add(offering.InstanceType);
      offeredIn.set(offering.Location, types);
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return offeredIn;
}

/**
 * Whether an instance type counts against EC2's "Running On-Demand Standard (A, C, D, H, I, M, R,
 * T, Z) instances" vCPU quota: a family of one of those letters followed by its generation
 * (c5, m6i, t3, z1d). inf1, trn1, hpc6a, mac1, dl1 start with those letters but have quotas of their own.
 */
export function countsAsStandard(instanceType: string | undefined): boolean {
  return /^[acdhimrtz]\d/.test(instanceType ?? '');
}
