import type { Subnet } from '@aws-sdk/client-ec2';
import { AWS_MINUTES } from '../aws/durations.js';
import { tagValue } from '../aws/tags.js';
import type { SubnetKey } from '../config/schema.js';
import { unlessNotFound } from '../aws/errors.js';
import { defineStep, type StepContext } from '../engine/step.js';
import { DEPENDENCY_WINDOW_MS, EVENTUAL_CONSISTENCY_MS, NETWORK_READY_MS, ours, tagSpec } from './ec2-common.js';
import { SUBNET_LAYOUT, guideNames } from './names.js';

/** Guide: "Subnets": a public and a private /24 in each of two AZs; public ones auto-assign IPv4. */
export interface SubnetOutputs {
  availabilityZones: [string, string];
  subnets: Record<SubnetKey, { id: string; cidr: string; availabilityZone: string; name: string }>;
  publicSubnetIds: [string, string];
  privateSubnetIds: [string, string];
}

declare module '../engine/step.js' {
  interface StepOutputs {
    subnets: SubnetOutputs;
  }
}

const SUBNET = 'AWS::EC2::Subnet';

/** The configured AZs, or the first two the region offers (the guide's us-west-2a and 2b). */
async function chooseZones(ctx: StepContext): Promise<[string, string]> {
  const [first, second] = ctx.config.availabilityZones;
  if (first && second) return [first, second];
  const ec2 = await ctx.aws.ec2();
  const zones =
    (await ec2.describeAvailabilityZones({ Filters: [{ Name: 'zone-type', Values: ['availability-zone'] }] })).AvailabilityZones ?? [];
  const names = zones
    .filter((z) => z.State === 'available')
    .map((z) => z.ZoneName!)
    .sort();
  if (names.length < 2) throw new Error(`region ${ctx.region} offers fewer than two Availability Zones to this account`);
  return [names[0]!, names[1]!];
}

export const subnets = defineStep({
  id: 'subnets',
  title: 'Subnets',
  needs: ['vpc'],
  minutes: AWS_MINUTES.network.create,

  async create(ctx) {
    const ec2 = await ctx.aws.ec2();
    const { vpcId } = ctx.output('vpc');
    const zones = await chooseZones(ctx);
    const existing = (await ec2.describeSubnets({ Filters: ours(ctx) })).Subnets ?? [];

    const made = await ctx.each(SUBNET_LAYOUT, async ({ key, kind, zone }) => {
      const cidr = ctx.config.subnetCidrs[key];
      const name = guideNames(ctx.deployment).subnet(kind, cidr);
      const availabilityZone = zones[zone];
      let subnet: Subnet | undefined = existing.find((s) => tagValue(s.Tags, 'Name') === name);
      if (subnet && (subnet.CidrBlock !== cidr || subnet.AvailabilityZone !== availabilityZone || subnet.VpcId !== vpcId)) {
        throw new Error(
          `subnet ${subnet.SubnetId} (${name}) is ${subnet.CidrBlock} in ${subnet.AvailabilityZone}, but the plan wants ${cidr} in ${availabilityZone}`,
        );
      }
      subnet ??= (
        await ctx.retry(`VPC ${vpcId} to be visible`, ['not-found'], EVENTUAL_CONSISTENCY_MS, () =>
          ec2.createSubnet({
            VpcId: vpcId,
            CidrBlock: cidr,
            AvailabilityZone: availabilityZone,
            TagSpecifications: tagSpec(ctx, 'subnet', name),
          }),
        )
      ).Subnet!;
      const id = subnet.SubnetId!;
      await ctx.record({ type: SUBNET, id, name });
      return { key, kind, id, cidr, availabilityZone, name, mapsPublicIp: Boolean(subnet.MapPublicIpOnLaunch) };
    });

    const ids = made.map((s) => s.id);
    await ctx.poll(`subnets ${ids.join(', ')} to become available`, NETWORK_READY_MS, async () => {
      const seen = await ctx.retry('new subnets to be visible', ['not-found'], EVENTUAL_CONSISTENCY_MS, () =>
        ec2.describeSubnets({ SubnetIds: ids }),
      );
      const pending = (seen.Subnets ?? []).filter((s) => s.State !== 'available');
      return pending.length === 0 ? { done: true, value: undefined } : { done: false, seen: `${pending.length} pending` };
    });
    for (const subnet of made.filter((s) => s.kind === 'public' && !s.mapsPublicIp)) {
      await ctx.retry(`subnet ${subnet.id} to accept attribute changes`, ['not-found'], EVENTUAL_CONSISTENCY_MS, () =>
        ec2.modifySubnetAttribute({ SubnetId: subnet.id, MapPublicIpOnLaunch: { Value: true } }),
      );
    }

    const byKey = Object.fromEntries(
      made.map(({ key, id, cidr, availabilityZone, name }) => [key, { id, cidr, availabilityZone, name }]),
    ) as SubnetOutputs['subnets'];
    return {
      availabilityZones: zones,
      subnets: byKey,
      publicSubnetIds: [byKey.publicA.id, byKey.publicB.id],
      privateSubnetIds: [byKey.privateA.id, byKey.privateB.id],
    };
  },

  async verify(ctx, outputs) {
    const ec2 = await ctx.aws.ec2();
    const found = (await ec2.describeSubnets({ Filters: ours(ctx) })).Subnets ?? [];
    return Object.values(outputs.subnets).every((s) => found.some((f) => f.SubnetId === s.id && f.State === 'available'));
  },

  async discover(ctx) {
    const ec2 = await ctx.aws.ec2();
    const found = (await ec2.describeSubnets({ Filters: ours(ctx) })).Subnets ?? [];
    return found.map((s) => ({ type: SUBNET, id: s.SubnetId!, name: tagValue(s.Tags, 'Name') ?? s.SubnetId! }));
  },

  async destroy(ctx, resources) {
    const ec2 = await ctx.aws.ec2();
    await ctx.each(
      resources.filter((r) => r.type === SUBNET),
      async (ref) => {
        await ctx.retry(`subnet ${ref.id} to be free of dependencies`, ['dependency'], DEPENDENCY_WINDOW_MS, () =>
          unlessNotFound(() => ec2.deleteSubnet({ SubnetId: ref.id })),
        );
        await ctx.forget(ref);
      },
    );
  },
});
