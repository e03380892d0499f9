import type { EC2 } from '@aws-sdk/client-ec2';
import { chosenInstanceTypes, offeringsByZone } from '../aws/offerings.js';
import type { InstallConfig } from '../config/schema.js';
import { INSTANCE_STEPS, type ToBuild } from './building.js';
import type { Refusal } from './refusal.js';

/**
 * The two Availability Zones (chosen, recorded by the subnets, or the default's: any two) offer
 * every chosen instance type. A zone without one fails only when that instance is launched, up to
 * half an hour into the install.
 */
export async function instanceTypesOffered(ec2: EC2, config: InstallConfig, left: ToBuild): Promise<Refusal | undefined> {
  if (!left.anyOf(...INSTANCE_STEPS)) return undefined;
  const chosen = chosenInstanceTypes(config);
  const offered = await offeringsByZone(
    ec2,
    chosen.map((c) => c.type),
  );
  const zonesWith = (type: string) => [...offered].filter(([, types]) => types.has(type)).map(([zone]) => zone);
  const everywhere = [...offered].filter(([, types]) => chosen.every((c) => types.has(c.type))).map(([zone]) => zone);
  const typeList = [...new Set(chosen.map((c) => c.type))].join(', ');
  for (const { key, type } of chosen) {
    if (zonesWith(type).length === 0) {
      return {
        message: `region ${config.region} offers instance type ${type} (${key}) in no Availability Zone`,
        fix: `choose a type the region offers for ${key} ('aws ec2 describe-instance-type-offerings --region ${config.region}' lists them)`,
      };
    }
  }
  const recorded = left.outputs('subnets')?.availabilityZones as string[] | undefined;
  const zones = config.availabilityZones.length ? config.availabilityZones : (recorded ?? []);
  for (const zone of zones) {
    const lacking = chosen.filter((c) => !offered.get(zone)?.has(c.type));
    if (lacking.length) {
      const what = lacking.map((c) => `${c.type} (${c.key})`).join(', ');
      return {
        message: `Availability Zone ${zone} offers no ${what}`,
        fix:
          recorded && !config.availabilityZones.length
            ? `the deployment's subnets are in ${zone}: choose ${lacking.map((c) => c.key).join(', ')} among the types it offers`
            : `choose two of ${everywhere.sort().join(', ') || 'none'} (the zones offering ${typeList}) in availabilityZones, or other instance types`,
      };
    }
  }
  if (!zones.length && everywhere.length < 2) {
    return {
      message: `region ${config.region} has ${everywhere.length === 0 ? 'no' : 'only one'} Availability Zone offering all of ${typeList}${everywhere.length ? ` (${everywhere[0]})` : ''}; the guide needs two`,
      fix: 'choose instance types both zones offer, or another --region',
    };
  }
  return undefined;
}
