import type { EC2 } from '@aws-sdk/client-ec2';

/**
 * The region's Availability Zones that offer every one of `instanceTypes` (EC2
 * DescribeInstanceTypeOfferings by zone), sorted by name. The wizard offers these; preflight
 * refuses chosen zones outside them (a zone lacking c5.2xlarge fails only at the base instance,
 * half an hour into the install).
 */
export async function zonesOffering(ec2: Pick<EC2, 'describeInstanceTypeOfferings'>, instanceTypes: readonly string[]): Promise<string[]> {
  const wanted = [...new Set(instanceTypes)];
  const offeredIn = new Map<string, Set<string>>();
  let NextToken: string | undefined;
  do {
    const page = await ec2.describeInstanceTypeOfferings({
      LocationType: 'availability-zone',
      Filters: [{ Name: 'instance-type', Values: wanted }],
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
  return [...offeredIn]
    .filter(([, types]) => wanted.every((t) => types.has(t)))
    .map(([zone]) => zone)
    .sort();
}
