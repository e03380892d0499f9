import { AWS_MINUTES } from '../aws/durations.js';
import { errorCode, unlessNotFound } from '../aws/errors.js';
import { tagValue } from '../aws/tags.js';
import { defineStep } from '../engine/step.js';
import { DEPENDENCY_WINDOW_MS, EVENTUAL_CONSISTENCY_MS, ours, tagSpec } from './ec2-common.js';
import { guideNames } from './names.js';

/** Guide: "Internet Gateway": gitlab-gateway, attached to gitlab-vpc. */
export interface InternetGatewayOutputs {
  internetGatewayId: string;
}

declare module '../engine/step.js' {
  interface StepOutputs {
    'internet-gateway': InternetGatewayOutputs;
  }
}

const GATEWAY = 'AWS::EC2::InternetGateway';

export const internetGateway = defineStep({
  id: 'internet-gateway',
  title: 'Internet gateway',
  needs: ['vpc'],
  minutes: 2 * AWS_MINUTES.network.create,

  async create(ctx) {
    const ec2 = await ctx.aws.ec2();
    const { vpcId } = ctx.output('vpc');
    const name = guideNames(ctx.deployment).internetGateway;
    const existing = (await ec2.describeInternetGateways({ Filters: ours(ctx) })).InternetGateways ?? [];
    const gateway =
      existing.find((g) => tagValue(g.Tags, 'Name') === name) ??
      (await ec2.createInternetGateway({ TagSpecifications: tagSpec(ctx, 'internet-gateway', name) })).InternetGateway!;
    const internetGatewayId = gateway.InternetGatewayId!;
    await ctx.record({ type: GATEWAY, id: internetGatewayId, name });

    const attachedTo = gateway.Attachments?.map((a) => a.VpcId) ?? [];
    if (attachedTo.some((id) => id !== vpcId)) {
      throw new Error(
        `internet gateway ${internetGatewayId} is attached to ${attachedTo.join(', ')}, not to this deployment's VPC ${vpcId}`,
      );
    }
    if (!attachedTo.includes(vpcId)) {
      await ctx.retry(`internet gateway ${internetGatewayId} to be visible`, ['not-found'], EVENTUAL_CONSISTENCY_MS, () =>
        ec2.attachInternetGateway({ InternetGatewayId: internetGatewayId, VpcId: vpcId }),
      );
    }
    return { internetGatewayId };
  },

  async verify(ctx, outputs) {
    const ec2 = await ctx.aws.ec2();
    const { vpcId } = ctx.output('vpc');
    const found =
      (await ec2.describeInternetGateways({ Filters: [...ours(ctx), { Name: 'attachment.vpc-id', Values: [vpcId] }] })).InternetGateways ??
      [];
    return found.some((g) => g.InternetGatewayId === outputs.internetGatewayId);
  },

  async discover(ctx) {
    const ec2 = await ctx.aws.ec2();
    const found = (await ec2.describeInternetGateways({ Filters: ours(ctx) })).InternetGateways ?? [];
    return found.map((g) => ({ type: GATEWAY, id: g.InternetGatewayId!, name: tagValue(g.Tags, 'Name') ?? g.InternetGatewayId! }));
  },

  async destroy(ctx, resources) {
    const ec2 = await ctx.aws.ec2();
    for (const ref of resources.filter((r) => r.type === GATEWAY)) {
      const found = await ec2.describeInternetGateways({ Filters: [{ Name: 'internet-gateway-id', Values: [ref.id] }] });
      for (const attachment of found.InternetGateways?.[0]?.Attachments ?? []) {
        // Detaching fails while NAT gateways (or instances) still hold public addresses in the VPC.
        await ctx.retry(`internet gateway ${ref.id} to detach from ${attachment.VpcId}`, ['dependency'], DEPENDENCY_WINDOW_MS, async () => {
          try {
            await ec2.detachInternetGateway({ InternetGatewayId: ref.id, VpcId: attachment.VpcId! });
          } catch (err) {
            if (errorCode(err) !== 'Gateway.NotAttached') throw err;
          }
        });
      }
      await ctx.retry(`internet gateway ${ref.id} to be deletable`, ['dependency'], DEPENDENCY_WINDOW_MS, () =>
        unlessNotFound(() => ec2.deleteInternetGateway({ InternetGatewayId: ref.id })),
      );
      await ctx.forget(ref);
    }
  },
});
