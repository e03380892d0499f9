import { z } from 'zod';
import type { EC2 } from '@aws-sdk/client-ec2';
import { TAG_DEPLOYMENT, TAG_NAME } from '../aws/tags.js';
import { defineStep } from '../engine/step.js';
import { AWS_MINUTES } from '../aws/durations.js';
import { NETWORK_READY_MS, VPC, discoverOurs, ec2Seen, findOurs, tagSpec, whenVisible, deleteWhenFree } from './ec2-common.js';
import { notOurs, ownership } from './ownership.js';
import { guideNames } from './names.js';

/** A VPC that carries our VPC's Name but is not this deployment's. */
export interface ForeignVpc {
  vpcId: string;
  name: string;
  reason: string;
}

/**
 * VPCs named like ours (`<deployment>-vpc`) that are not ours. AWS allows two VPCs of one name;
 * the step finds its own by the deployment tag, so it never adopts one of these and builds a
 * second VPC beside it: the install says so before it asks.
 */
export async function foreignVpcs(ec2: EC2, deployment: string): Promise<ForeignVpc[]> {
  const name = guideNames(deployment).vpc;
  const found = (await VPC.list(ec2, [{ Name: `tag:${TAG_NAME}`, Values: [name] }])) ?? [];
  return found.flatMap((v) => {
    const reason = notOurs(v.Tags ?? [], deployment);
    return reason ? [{ vpcId: v.VpcId!, name, reason }] : [];
  });
}

/** What the install warns of them: their IDs, and that ours will stand beside them, tagged. */
export function foreignVpcWarning(deployment: string, vpcs: ForeignVpc[]): string {
  const name = guideNames(deployment).vpc;
  const which = vpcs.map((v) => `${v.vpcId} (${v.reason})`).join(', ');
  return `warning: a VPC named ${name} that is not this deployment's exists: ${which}. It is left alone; a second VPC ${name} will be built beside it, tagged ${TAG_DEPLOYMENT}=${deployment}.`;
}

/** The plan's line for them, under the list of what will be made. */
export function foreignVpcNote(deployment: string, vpcs: ForeignVpc[]): string {
  return `Note: the VPC ${guideNames(deployment).vpc} above is a second one, beside ${vpcs.map((v) => v.vpcId).join(', ')} of the same name (not this deployment's, left alone).`;
}

/** Guide: "Creating the Virtual Private Cloud (VPC)": gitlab-vpc, 10.0.0.0/16, DNS resolution on. */
export const vpc = defineStep({
  id: 'vpc',
  title: 'VPC',
  needs: [],
  minutes: AWS_MINUTES.network.create,
  outputs: z.object({ vpcId: z.string(), cidrBlock: z.string() }),
  resources: (config) => [{ type: VPC.type, name: guideNames(config.deployment).vpc }],

  async create(ctx) {
    const ec2 = await ctx.aws.ec2();
    const name = guideNames(ctx.deployment).vpc;
    const existing = await findOurs(ctx, VPC);
    if (existing.length > 1) {
      throw new Error(
        `deployment '${ctx.deployment}' has ${existing.length} VPCs (${existing.map((v) => v.VpcId).join(', ')}); delete the extra one and resume`,
      );
    }
    let found = existing[0];
    if (found && found.CidrBlock !== ctx.config.vpcCidr) {
      throw new Error(`this deployment's VPC ${found.VpcId} has CIDR ${found.CidrBlock}, but the config asks for ${ctx.config.vpcCidr}`);
    }
    found ??= (await ec2.createVpc({ CidrBlock: ctx.config.vpcCidr, TagSpecifications: tagSpec(ctx, 'vpc', name) })).Vpc!;
    const vpcId = found.VpcId!;
    await ctx.record({ type: VPC.type, id: vpcId, name });

    await ctx.poll(`VPC ${vpcId} to become available`, NETWORK_READY_MS, async () => {
      const vpcs = await whenVisible(ctx, `VPC ${vpcId}`, () => ec2.describeVpcs({ VpcIds: [vpcId] }));
      const state = vpcs.Vpcs?.[0]?.State;
      return state === 'available' ? { done: true, value: undefined } : { done: false, seen: String(state) };
    });
    // The guide turns on DNS resolution; instances and RDS endpoints also need DNS hostnames.
    // EC2 takes one attribute per call.
    for (const attribute of ['EnableDnsSupport', 'EnableDnsHostnames'] as const) {
      await whenVisible(ctx, `VPC ${vpcId}`, () => ec2.modifyVpcAttribute({ VpcId: vpcId, [attribute]: { Value: true } }));
    }
    return { vpcId, cidrBlock: ctx.config.vpcCidr };
  },

  async verify(ctx, outputs) {
    const found = await findOurs(ctx, VPC, undefined, { Name: 'vpc-id', Values: [outputs.vpcId] });
    return found[0]?.State === 'available';
  },

  discover: discoverOurs(VPC),

  async destroy(ctx, resources) {
    const ec2 = await ctx.aws.ec2();
    const owner = ownership(ctx);
    for (const ref of resources.filter((r) => r.type === VPC.type)) {
      if (!(await owner.ours(ref, () => ec2Seen(ctx, VPC, ref.id)))) continue;
      await deleteWhenFree(ctx, `VPC ${ref.id}`, () => ec2.deleteVpc({ VpcId: ref.id }));
      await ctx.forget(ref);
    }
    return owner.result();
  },
});
