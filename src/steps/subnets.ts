import { z } from 'zod';
import { chosenInstanceTypes, zonesOffering } from '../aws/offerings.js';
import type { Subnet } from '@aws-sdk/client-ec2';
import { AWS_MINUTES } from '../aws/durations.js';
import { tagValue } from '../aws/tags.js';
import { SUBNET_KEYS, type InstallConfig } from '../config/schema.js';
import { defineStep, type StepContext } from '../engine/step.js';
import { NETWORK_READY_MS, SUBNET, discoverOurs, ec2Seen, findOurs, tagSpec, whenVisible, deleteWhenFree } from './ec2-common.js';
import { ownership } from './ownership.js';
import { SUBNET_LAYOUT, guideNames } from './names.js';
import { vpc } from './vpc.js';

const pair = z.tuple([z.string(), z.string()]).readonly();
const subnet = z.object({ id: z.string(), cidr: z.string(), availabilityZone: z.string(), name: z.string() });

/** The guide's name of each subnet: its kind and its network address (gitlab-public-10.0.0.0). */
function subnetName(config: InstallConfig, kind: 'public' | 'private', key: (typeof SUBNET_KEYS)[number]): string {
  return guideNames(config.deployment).subnet(kind, config.subnetCidrs[key]);
}

/**
 * The configured AZs, or the first two the region offers that offer every chosen instance type
 * (the guide's us-west-2a and 2b; preflight checked that two do).
 */
async function chooseZones(ctx: StepContext): Promise<[string, string]> {
  const [first, second] = ctx.config.availabilityZones;
  if (first && second) return [first, second];
  const ec2 = await ctx.aws.ec2();
  const zones =
    (await ec2.describeAvailabilityZones({ Filters: [{ Name: 'zone-type', Values: ['availability-zone'] }] })).AvailabilityZones ?? [];
  const offering = await zonesOffering(
    ec2,
    chosenInstanceTypes(ctx.config).map((c) => c.type),
  );
  const names = zones
    .filter((z) => z.State === 'available' && offering.includes(z.ZoneName!))
    .map((z) => z.ZoneName!)
    .sort();
  if (names.length < 2)
    throw new Error(`region ${ctx.region} offers fewer than two Availability Zones offering the chosen instance types to this account`);
  return [names[0]!, names[1]!];
}

/** Guide: "Subnets": a public and a private /24 in each of two AZs; public ones auto-assign IPv4. */
export const subnets = defineStep({
  id: 'subnets',
  title: 'Subnets',
  needs: [vpc],
  minutes: AWS_MINUTES.network.create,
  outputs: z.object({
    availabilityZones: pair,
    subnets: z.object(Object.fromEntries(SUBNET_KEYS.map((key) => [key, subnet])) as Record<(typeof SUBNET_KEYS)[number], typeof subnet>),
    publicSubnetIds: pair,
    privateSubnetIds: pair,
  }),
  resources: (config) => SUBNET_LAYOUT.map(({ key, kind }) => ({ type: SUBNET.type, name: subnetName(config, kind, key) })),

  async create(ctx) {
    const ec2 = await ctx.aws.ec2();
    const { vpcId } = ctx.output('vpc');
    const zones = await chooseZones(ctx);
    const existing = await findOurs(ctx, SUBNET);

    const made = await ctx.each(SUBNET_LAYOUT, async ({ key, kind, zone }) => {
      const cidr = ctx.config.subnetCidrs[key];
      const name = subnetName(ctx.config, kind, key);
      const availabilityZone = zones[zone];
      let subnet: Subnet | undefined = existing.find((s) => tagValue(s.Tags, 'Name') === name);
      if (subnet && (subnet.CidrBlock !== cidr || subnet.AvailabilityZone !== availabilityZone || subnet.VpcId !== vpcId)) {
        throw new Error(
          `subnet ${subnet.SubnetId} (${name}) is ${subnet.CidrBlock} in ${subnet.AvailabilityZone}, but the plan wants ${cidr} in ${availabilityZone}`,
        );
      }
      subnet ??= (
        await whenVisible(ctx, `VPC ${vpcId}`, () =>
          ec2.createSubnet({
            VpcId: vpcId,
            CidrBlock: cidr,
            AvailabilityZone: availabilityZone,
            TagSpecifications: tagSpec(ctx, 'subnet', name),
          }),
        )
      ).Subnet!;
      const id = subnet.SubnetId!;
      await ctx.record({ type: SUBNET.type, id, name });
      return { key, kind, id, cidr, availabilityZone, name, mapsPublicIp: Boolean(subnet.MapPublicIpOnLaunch) };
    });

    const ids = made.map((s) => s.id);
    await ctx.poll(`subnets ${ids.join(', ')} to become available`, NETWORK_READY_MS, async () => {
      const seen = await whenVisible(ctx, 'the new subnets', () => ec2.describeSubnets({ SubnetIds: ids }));
      const pending = (seen.Subnets ?? []).filter((s) => s.State !== 'available');
      return pending.length === 0 ? { done: true, value: undefined } : { done: false, seen: `${pending.length} pending` };
    });
    for (const subnet of made.filter((s) => s.kind === 'public' && !s.mapsPublicIp)) {
      await whenVisible(ctx, `subnet ${subnet.id}`, () =>
        ec2.modifySubnetAttribute({ SubnetId: subnet.id, MapPublicIpOnLaunch: { Value: true } }),
      );
    }

    const byKey = Object.fromEntries(
      made.map(({ key, id, cidr, availabilityZone, name }) => [key, { id, cidr, availabilityZone, name }]),
    ) as Record<(typeof SUBNET_KEYS)[number], z.infer<typeof subnet>>;
    return {
      availabilityZones: zones,
      subnets: byKey,
      publicSubnetIds: [byKey.publicA.id, byKey.publicB.id] as const,
      privateSubnetIds: [byKey.privateA.id, byKey.privateB.id] as const,
    };
  },

  async verify(ctx, outputs) {
    const found = await findOurs(ctx, SUBNET);
    return Object.values(outputs.subnets).every((s) => found.some((f) => f.SubnetId === s.id && f.State === 'available'));
  },

  discover: discoverOurs(SUBNET),

  async destroy(ctx, resources) {
    const ec2 = await ctx.aws.ec2();
    const owner = ownership(ctx);
    await ctx.each(
      resources.filter((r) => r.type === SUBNET.type),
      async (ref) => {
        if (!(await owner.ours(ref, () => ec2Seen(ctx, SUBNET, ref.id)))) return;
        await deleteWhenFree(ctx, `subnet ${ref.id}`, () => ec2.deleteSubnet({ SubnetId: ref.id }));
        await ctx.forget(ref);
      },
    );
    return owner.result();
  },
});
