import { z } from 'zod';
import type { EC2 } from '@aws-sdk/client-ec2';
import { MINUTE } from '../aws/durations.js';
import { errorCode, unlessNotFound } from '../aws/errors.js';
import { defineStep, type StepContext } from '../engine/step.js';
import { renderBastionUserData } from '../gitlab/user-data.js';
import { ELASTIC_IP, discoverOurs, ec2Seen, findOurs, tagSpec, whenVisible } from './ec2-common.js';
import { INSTANCE, ensureInstance, instanceRunning, terminateInstances } from './instances.js';
import { internetGateway } from './internet-gateway.js';
import { keyPair } from './key-pair.js';
import { machineImages } from './machine-images.js';
import { ZONES, guideNames } from './names.js';
import { ownership } from './ownership.js';
import { publicRouteTable } from './public-route-table.js';
import { securityGroups } from './security-groups.js';
import { subnets } from './subnets.js';

/** An address stays associated with its instance for a moment after the instance is gone. */
const RELEASE_WINDOW_MS = 2 * MINUTE;

async function ensureAddress(ctx: StepContext, ec2: EC2, name: string): Promise<string> {
  const found = (await findOurs(ctx, ELASTIC_IP, name))[0];
  const allocationId =
    found?.AllocationId ??
    (await ec2.allocateAddress({ Domain: 'vpc', TagSpecifications: tagSpec(ctx, 'elastic-ip', name) })).AllocationId!;
  await ctx.record({ type: ELASTIC_IP.type, id: allocationId, name });
  return allocationId;
}

/** Associates the address with the instance unless it already is; answers the public IP. */
async function associate(ctx: StepContext, ec2: EC2, allocationId: string, instanceId: string): Promise<string> {
  const seen = () => whenVisible(ctx, `Elastic IP ${allocationId}`, () => ec2.describeAddresses({ AllocationIds: [allocationId] }));
  const address = (await seen()).Addresses?.[0];
  if (address?.InstanceId !== instanceId) {
    // Reassociation: a replaced bastion takes its address over from the one it replaces.
    await whenVisible(ctx, `instance ${instanceId}`, () =>
      ec2.associateAddress({ AllocationId: allocationId, InstanceId: instanceId, AllowReassociation: true }),
    );
  }
  return address?.PublicIp ?? '';
}

/**
 * Guide: "Setting up Bastion Hosts": Bastion Host A and B, Ubuntu LTS, one in each public subnet
 * behind the bastion security group, each reachable at an Elastic IP of its own.
 */
export const bastionHosts = defineStep({
  id: 'bastion-hosts',
  title: 'Bastion hosts',
  needs: [machineImages, keyPair, subnets, securityGroups, internetGateway, publicRouteTable],
  minutes: 0.6,
  outputs: z.object({
    hosts: z.array(
      z.object({ zone: z.enum(ZONES), name: z.string(), instanceId: z.string(), publicIp: z.string(), allocationId: z.string() }),
    ),
  }),
  resources: (config) => {
    const names = guideNames(config.deployment);
    return ZONES.flatMap((zone) => [
      { type: INSTANCE.type, name: names.bastion(zone) },
      { type: ELASTIC_IP.type, name: names.bastionAddress(zone) },
    ]);
  },

  async create(ctx) {
    const ec2 = await ctx.aws.ec2();
    const names = guideNames(ctx.deployment);
    const { publicSubnetIds } = ctx.output('subnets');
    const hosts = await ctx.each(ZONES, async (zone, i) => {
      const name = names.bastion(zone);
      const allocationId = await ensureAddress(ctx, ec2, names.bastionAddress(zone));
      const instance = await ensureInstance(ctx, {
        name,
        token: `bastion-${zone}`,
        image: ctx.output('machine-images').bastion,
        instanceType: ctx.config.bastion.instanceType,
        subnetId: publicSubnetIds[i]!,
        inPublicSubnet: true,
        securityGroupIds: [ctx.output('security-groups').groupIds.bastion],
        keyName: ctx.output('key-pair').keyName,
        userData: renderBastionUserData({ name }),
      });
      const publicIp = await associate(ctx, ec2, allocationId, instance.InstanceId!);
      return { zone, name, instanceId: instance.InstanceId!, publicIp, allocationId };
    });
    return { hosts };
  },

  async verify(ctx, outputs) {
    for (const host of outputs.hosts) if (!(await instanceRunning(ctx, host.instanceId))) return false;
    const addresses = await findOurs(ctx, ELASTIC_IP);
    return outputs.hosts.every((h) => addresses.some((a) => a.AllocationId === h.allocationId && a.InstanceId === h.instanceId));
  },

  discover: discoverOurs(INSTANCE, ELASTIC_IP),

  async destroy(ctx, resources) {
    const ec2 = await ctx.aws.ec2();
    const owner = ownership(ctx);
    // The instances first: terminating one frees its address.
    await terminateInstances(ctx, resources, owner);
    await ctx.each(
      resources.filter((r) => r.type === ELASTIC_IP.type),
      async (ref) => {
        if (!(await owner.ours(ref, () => ec2Seen(ctx, ELASTIC_IP, ref.id)))) return;
        const association = (await unlessNotFound(() => ec2.describeAddresses({ AllocationIds: [ref.id] })))?.Addresses?.[0]?.AssociationId;
        if (association) await unlessNotFound(() => ec2.disassociateAddress({ AssociationId: association }));
        await ctx.retry(
          `Elastic IP ${ref.id} to be releasable`,
          (err) => errorCode(err) === 'InvalidIPAddress.InUse',
          RELEASE_WINDOW_MS,
          () => unlessNotFound(() => ec2.releaseAddress({ AllocationId: ref.id })),
        );
        await ctx.forget(ref);
      },
    );
    return owner.result();
  },
});
