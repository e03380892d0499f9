import { loadSharedConfigFiles } from '@smithy/shared-ini-file-loader';
import type { EC2 } from '@aws-sdk/client-ec2';

/**
 * The region, resolved once for the whole run: --region, then AWS_REGION, then the profile's
 * region (the SDK does not read AWS_DEFAULT_REGION; we follow the SDK so both agree).
 */
export async function resolveRegion(flag: string | undefined, profile: string | undefined): Promise<string | undefined> {
  if (flag) return flag;
  if (process.env.AWS_REGION) return process.env.AWS_REGION;
  const name = profile ?? process.env.AWS_PROFILE ?? 'default';
  try {
    const { configFile } = await loadSharedConfigFiles();
    return configFile[name]?.region;
  } catch {
    return undefined;
  }
}

/**
 * Whether this account may build in `region`, as AWS says (EC2 DescribeRegions with AllRegions:
 * the list grows without us). Refused before anything is created: a region AWS does not know, and
 * one the account has not opted in to. The answer is the reason, or undefined when it is usable.
 */
export async function regionRefusal(ec2: Pick<EC2, 'describeRegions'>, region: string): Promise<RegionRefusal | undefined> {
  const { Regions = [] } = await ec2.describeRegions({ AllRegions: true });
  const found = Regions.find((r) => r.RegionName === region);
  if (!found) {
    const known = Regions.map((r) => r.RegionName)
      .filter(Boolean)
      .sort()
      .join(', ');
    return { message: `unknown region '${region}'`, fix: `use one of ${known}` };
  }
  if (found.OptInStatus === 'not-opted-in') {
    return {
      message: `region ${region} is not enabled for this AWS account (not opted in)`,
      fix: 'opt in to it in the AWS console (Account > AWS Regions), or choose another --region',
    };
  }
  return undefined;
}

/**
 * Whether the region offers the Availability Zones asked for, as AWS says (EC2
 * DescribeAvailabilityZones: the zones, and the Local Zones the account opted in to). A zone the
 * region does not offer would otherwise fail at the subnets, with the VPC and gateways made.
 */
export async function zoneRefusal(
  ec2: Pick<EC2, 'describeAvailabilityZones'>,
  region: string,
  wanted: readonly string[],
): Promise<RegionRefusal | undefined> {
  if (wanted.length === 0) return undefined;
  const { AvailabilityZones = [] } = await ec2.describeAvailabilityZones({});
  const offered = AvailabilityZones.filter((z) => z.State === 'available' && z.ZoneName).map((z) => z.ZoneName!);
  const missing = wanted.filter((zone) => !offered.includes(zone));
  if (missing.length === 0) return undefined;
  return {
    message: `region ${region} offers no Availability Zone ${missing.join(' or ')} to this account`,
    fix: `choose two of ${[...offered].sort().join(', ')} (availabilityZones in --config), or leave them out to take the first two`,
  };
}

export interface RegionRefusal {
  message: string;
  fix: string;
}
