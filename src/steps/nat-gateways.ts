import type { EC2, NatGateway } from '@aws-sdk/client-ec2';
import { AWS_MINUTES, MINUTE } from '../aws/durations.js';
import { errorCode, isKind, unlessNotFound } from '../aws/errors.js';
import { tagValue } from '../aws/tags.js';
import { defineStep, type StepContext } from '../engine/step.js';
import { EVENTUAL_CONSISTENCY_MS, ours, patience, tagSpec } from './ec2-common.js';
import { ZONES, guideNames } from './names.js';

/** Guide: "Create NAT Gateways": one in each public subnet, each with its own Elastic IP. */
export interface NatGatewayOutputs {
  natGatewayIds: [string, string];
  publicIps: [string, string];
}

declare module '../engine/step.js' {
  interface StepOutputs {
    'nat-gateways': NatGatewayOutputs;
  }
}

const ADDRESS = 'AWS::EC2::EIP';
const NAT = 'AWS::EC2::NatGateway';
const GONE = ['deleting', 'deleted', 'failed'];

/** ReleaseAddress answers AuthFailure for a while after its NAT gateway is deleted (AWS's quirk). */
const RELEASE_WINDOW_MS = 5 * MINUTE;

async function ensureAddress(ctx: StepContext, ec2: EC2, zone: 'a' | 'b') {
  const name = guideNames(ctx.deployment).natAddress(zone);
  const found = (await ec2.describeAddresses({ Filters: ours(ctx, name) })).Addresses?.[0];
  const allocationId =
    found?.AllocationId ??
    (await ec2.allocateAddress({ Domain: 'vpc', TagSpecifications: tagSpec(ctx, 'elastic-ip', name) })).AllocationId!;
  await ctx.record({ type: ADDRESS, id: allocationId, name });
  return allocationId;
}

async function ensureNatGateway(ctx: StepContext, ec2: EC2, zone: 'a' | 'b', subnetId: string, allocationId: string): Promise<NatGateway> {
  const name = guideNames(ctx.deployment).natGateway(zone);
  const existing = (await ec2.describeNatGateways({ Filter: ours(ctx, name) })).NatGateways ?? [];
  let nat = existing.find((n) => !GONE.includes(n.State ?? ''));
  // The token makes a retried or resumed create return the same gateway instead of a second one.
  nat ??= (
    await ctx.retry(`subnet ${subnetId} and address ${allocationId} to be visible`, ['not-found'], EVENTUAL_CONSISTENCY_MS, () =>
      ec2.createNatGateway({
        SubnetId: subnetId,
        AllocationId: allocationId,
        ConnectivityType: 'public',
        ClientToken: ctx.token(`nat-${zone}`),
        TagSpecifications: tagSpec(ctx, 'natgateway', name),
      }),
    )
  ).NatGateway!;
  const natGatewayId = nat.NatGatewayId!;
  await ctx.record({ type: NAT, id: natGatewayId, name });
  return ctx.poll(`NAT gateway ${natGatewayId} to become available`, patience(AWS_MINUTES.natGateway.create), async () => {
    const seen = await ctx.retry(`NAT gateway ${natGatewayId} to be visible`, ['not-found'], EVENTUAL_CONSISTENCY_MS, () =>
      ec2.describeNatGateways({ NatGatewayIds: [natGatewayId] }),
    );
    const current = seen.NatGateways?.[0];
    if (current?.State === 'failed') {
      throw new Error(`NAT gateway ${natGatewayId} failed: ${current.FailureMessage ?? current.FailureCode}; delete it and resume`);
    }
    return current?.State === 'available' ? { done: true, value: current } : { done: false, seen: String(current?.State) };
  });
}

export const natGateways = defineStep({
  id: 'nat-gateways',
  title: 'NAT gateways',
  needs: ['subnets', 'internet-gateway'],
  minutes: AWS_MINUTES.elasticIp.create + AWS_MINUTES.natGateway.create,

  async create(ctx) {
    const ec2 = await ctx.aws.ec2();
    const { publicSubnetIds } = ctx.output('subnets');
    const made = await ctx.each(ZONES, async (zone, i) => {
      const allocationId = await ensureAddress(ctx, ec2, zone);
      return ensureNatGateway(ctx, ec2, zone, publicSubnetIds[i]!, allocationId);
    });
    return {
      natGatewayIds: [made[0]!.NatGatewayId!, made[1]!.NatGatewayId!],
      publicIps: [made[0]!.NatGatewayAddresses?.[0]?.PublicIp ?? '', made[1]!.NatGatewayAddresses?.[0]?.PublicIp ?? ''],
    };
  },

  async verify(ctx, outputs) {
    const ec2 = await ctx.aws.ec2();
    const found = (await ec2.describeNatGateways({ Filter: ours(ctx) })).NatGateways ?? [];
    return outputs.natGatewayIds.every((id) => found.some((n) => n.NatGatewayId === id && n.State === 'available'));
  },

  async discover(ctx) {
    const ec2 = await ctx.aws.ec2();
    const nats = ((await ec2.describeNatGateways({ Filter: ours(ctx) })).NatGateways ?? []).filter((n) => n.State !== 'deleted');
    const addresses = (await ec2.describeAddresses({ Filters: ours(ctx) })).Addresses ?? [];
    return [
      ...nats.map((n) => ({ type: NAT, id: n.NatGatewayId!, name: tagValue(n.Tags, 'Name') ?? n.NatGatewayId! })),
      ...addresses.map((a) => ({ type: ADDRESS, id: a.AllocationId!, name: tagValue(a.Tags, 'Name') ?? a.AllocationId! })),
    ];
  },

  async destroy(ctx, resources) {
    const ec2 = await ctx.aws.ec2();
    // Gateways first: an address cannot be released while a gateway holds it.
    await ctx.each(
      resources.filter((r) => r.type === NAT),
      async (ref) => {
        await unlessNotFound(() => ec2.deleteNatGateway({ NatGatewayId: ref.id }));
        await ctx.poll(`NAT gateway ${ref.id} to be deleted`, patience(AWS_MINUTES.natGateway.delete), async () => {
          try {
            const state = (await ec2.describeNatGateways({ NatGatewayIds: [ref.id] })).NatGateways?.[0]?.State;
            return state === 'deleted' || state === undefined ? { done: true, value: undefined } : { done: false, seen: state };
          } catch (err) {
            if (isKind(err, 'not-found')) return { done: true, value: undefined };
            throw err;
          }
        });
        await ctx.forget(ref);
      },
    );
    await ctx.each(
      resources.filter((r) => r.type === ADDRESS),
      async (ref) => {
        const releasable = (err: unknown) => ['AuthFailure', 'InvalidIPAddress.InUse'].includes(errorCode(err));
        await ctx.retry(`Elastic IP ${ref.id} to be releasable`, releasable, RELEASE_WINDOW_MS, () =>
          unlessNotFound(() => ec2.releaseAddress({ AllocationId: ref.id })),
        );
        await ctx.forget(ref);
      },
    );
  },
});
