import { z } from 'zod';
import type { EC2, NatGateway } from '@aws-sdk/client-ec2';
import { AWS_MINUTES, MINUTE } from '../aws/durations.js';
import { errorCode, isKind, unlessNotFound } from '../aws/errors.js';
import { defineStep, type StepContext } from '../engine/step.js';
import { ELASTIC_IP, NAT_GATEWAY, discoverOurs, ec2Seen, findOurs, patience, tagSpec, whenVisible } from './ec2-common.js';
import { ownership } from './ownership.js';
import { internetGateway } from './internet-gateway.js';
import { ZONES, guideNames } from './names.js';
import { subnets } from './subnets.js';

const GONE = ['deleting', 'deleted', 'failed'];
const pair = z.tuple([z.string(), z.string()]).readonly();

/** ReleaseAddress answers AuthFailure for a while after its NAT gateway is deleted (AWS's quirk). */
const RELEASE_WINDOW_MS = 5 * MINUTE;

/** Waits until the NAT gateway is deleted (gone from the listing counts too). */
async function deleted(ctx: StepContext, ec2: EC2, natGatewayId: string): Promise<void> {
  await ctx.poll(`NAT gateway ${natGatewayId} to be deleted`, patience(AWS_MINUTES.natGateway.delete), async () => {
    try {
      const state = (await ec2.describeNatGateways({ NatGatewayIds: [natGatewayId] })).NatGateways?.[0]?.State;
      return state === 'deleted' || state === undefined ? { done: true, value: undefined } : { done: false, seen: state };
    } catch (err) {
      if (isKind(err, 'not-found')) return { done: true, value: undefined };
      throw err;
    }
  });
}

async function ensureAddress(ctx: StepContext, ec2: EC2, zone: 'a' | 'b') {
  const name = guideNames(ctx.deployment).natAddress(zone);
  const found = (await findOurs(ctx, ELASTIC_IP, name))[0];
  const allocationId =
    found?.AllocationId ??
    (await ec2.allocateAddress({ Domain: 'vpc', TagSpecifications: tagSpec(ctx, 'elastic-ip', name) })).AllocationId!;
  await ctx.record({ type: ELASTIC_IP.type, id: allocationId, name });
  return allocationId;
}

async function ensureNatGateway(ctx: StepContext, ec2: EC2, zone: 'a' | 'b', subnetId: string, allocationId: string): Promise<NatGateway> {
  const name = guideNames(ctx.deployment).natGateway(zone);
  const found = await findOurs(ctx, NAT_GATEWAY, name);
  const live = found.find((n) => !GONE.includes(n.State ?? ''));
  // A teardown that stopped midway can leave a gateway deleting: it holds its address until gone.
  for (const old of live ? [] : found.filter((n) => n.State === 'deleting')) await deleted(ctx, ec2, old.NatGatewayId!);
  // The token makes a retried or resumed create return the same gateway instead of a second one.
  const create = async () =>
    (
      await whenVisible(ctx, `subnet ${subnetId} and address ${allocationId}`, () =>
        ec2.createNatGateway({
          SubnetId: subnetId,
          AllocationId: allocationId,
          ConnectivityType: 'public',
          ClientToken: ctx.token(`nat-${zone}`),
          TagSpecifications: tagSpec(ctx, 'natgateway', name),
        }),
      )
    ).NatGateway!;
  let nat = live ?? (await create());
  if (GONE.includes(nat.State ?? '')) {
    // The token replayed a gateway that failed or was deleted (the advice is "delete it and
    // resume"): that one is over, so this create must make a new one.
    ctx.progress(`NAT gateway ${nat.NatGatewayId} is ${nat.State}; creating a new one`);
    await ctx.renewToken(`nat-${zone}`);
    nat = await create();
  }
  const natGatewayId = nat.NatGatewayId!;
  await ctx.record({ type: NAT_GATEWAY.type, id: natGatewayId, name });
  return ctx.poll(`NAT gateway ${natGatewayId} to become available`, patience(AWS_MINUTES.natGateway.create), async () => {
    const seen = await whenVisible(ctx, `NAT gateway ${natGatewayId}`, () => ec2.describeNatGateways({ NatGatewayIds: [natGatewayId] }));
    const current = seen.NatGateways?.[0];
    if (current?.State === 'failed') {
      throw new Error(`NAT gateway ${natGatewayId} failed: ${current.FailureMessage ?? current.FailureCode}; delete it and resume`);
    }
    return current?.State === 'available' ? { done: true, value: current } : { done: false, seen: String(current?.State) };
  });
}

/** Guide: "Create NAT Gateways": one in each public subnet, each with its own Elastic IP. */
export const natGateways = defineStep({
  id: 'nat-gateways',
  title: 'NAT gateways',
  needs: [subnets, internetGateway],
  minutes: AWS_MINUTES.elasticIp.create + AWS_MINUTES.natGateway.create,
  outputs: z.object({ natGatewayIds: pair, publicIps: pair }),
  resources: (config) => {
    const names = guideNames(config.deployment);
    return ZONES.flatMap((zone) => [
      { type: ELASTIC_IP.type, name: names.natAddress(zone) },
      { type: NAT_GATEWAY.type, name: names.natGateway(zone) },
    ]);
  },

  async create(ctx) {
    const ec2 = await ctx.aws.ec2();
    const { publicSubnetIds } = ctx.output('subnets');
    const made = await ctx.each(ZONES, async (zone, i) => {
      const allocationId = await ensureAddress(ctx, ec2, zone);
      return ensureNatGateway(ctx, ec2, zone, publicSubnetIds[i]!, allocationId);
    });
    return {
      natGatewayIds: [made[0]!.NatGatewayId!, made[1]!.NatGatewayId!] as const,
      publicIps: [made[0]!.NatGatewayAddresses?.[0]?.PublicIp ?? '', made[1]!.NatGatewayAddresses?.[0]?.PublicIp ?? ''] as const,
    };
  },

  async verify(ctx, outputs) {
    const found = await findOurs(ctx, NAT_GATEWAY);
    return outputs.natGatewayIds.every((id) => found.some((n) => n.NatGatewayId === id && n.State === 'available'));
  },

  discover: discoverOurs(NAT_GATEWAY, ELASTIC_IP),

  async destroy(ctx, resources) {
    const ec2 = await ctx.aws.ec2();
    const owner = ownership(ctx);
    // Gateways first: an address cannot be released while a gateway holds it.
    await ctx.each(
      resources.filter((r) => r.type === NAT_GATEWAY.type),
      async (ref) => {
        if (!(await owner.ours(ref, () => ec2Seen(ctx, NAT_GATEWAY, ref.id)))) return;
        await unlessNotFound(() => ec2.deleteNatGateway({ NatGatewayId: ref.id }));
        await deleted(ctx, ec2, ref.id);
        await ctx.forget(ref);
      },
    );
    await ctx.each(
      resources.filter((r) => r.type === ELASTIC_IP.type),
      async (ref) => {
        if (!(await owner.ours(ref, () => ec2Seen(ctx, ELASTIC_IP, ref.id)))) return;
        const releasable = (err: unknown) => ['AuthFailure', 'InvalidIPAddress.InUse'].includes(errorCode(err));
        await ctx.retry(`Elastic IP ${ref.id} to be releasable`, releasable, RELEASE_WINDOW_MS, () =>
          unlessNotFound(() => ec2.releaseAddress({ AllocationId: ref.id })),
        );
        await ctx.forget(ref);
      },
    );
    return owner.result();
  },
});
