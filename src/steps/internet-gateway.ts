import { z } from 'zod';
import { AWS_MINUTES } from '../aws/durations.js';
import { errorCode } from '../aws/errors.js';
import { tagValue } from '../aws/tags.js';
import { defineStep } from '../engine/step.js';
import {
  DEPENDENCY_WINDOW_MS,
  INTERNET_GATEWAY,
  discoverOurs,
  ec2Seen,
  findOurs,
  tagSpec,
  whenVisible,
  deleteWhenFree,
} from './ec2-common.js';
import { ownership } from './ownership.js';
import { guideNames } from './names.js';
import { vpc } from './vpc.js';

/** Guide: "Internet Gateway": gitlab-gateway, attached to gitlab-vpc. */
export const internetGateway = defineStep({
  id: 'internet-gateway',
  title: 'Internet gateway',
  needs: [vpc],
  minutes: 2 * AWS_MINUTES.network.create,
  outputs: z.object({ internetGatewayId: z.string() }),
  resources: (config) => [{ type: INTERNET_GATEWAY.type, name: guideNames(config.deployment).internetGateway }],

  async create(ctx) {
    const ec2 = await ctx.aws.ec2();
    const { vpcId } = ctx.output('vpc');
    const name = guideNames(ctx.deployment).internetGateway;
    const gateway =
      (await findOurs(ctx, INTERNET_GATEWAY)).find((g) => tagValue(g.Tags, 'Name') === name) ??
      (await ec2.createInternetGateway({ TagSpecifications: tagSpec(ctx, 'internet-gateway', name) })).InternetGateway!;
    const internetGatewayId = gateway.InternetGatewayId!;
    await ctx.record({ type: INTERNET_GATEWAY.type, id: internetGatewayId, name });

    const attachedTo = gateway.Attachments?.map((a) => a.VpcId) ?? [];
    if (attachedTo.some((id) => id !== vpcId)) {
      throw new Error(
        `internet gateway ${internetGatewayId} is attached to ${attachedTo.join(', ')}, not to this deployment's VPC ${vpcId}`,
      );
    }
    if (!attachedTo.includes(vpcId)) {
      await whenVisible(ctx, `internet gateway ${internetGatewayId}`, () =>
        ec2.attachInternetGateway({ InternetGatewayId: internetGatewayId, VpcId: vpcId }),
      );
    }
    return { internetGatewayId };
  },

  async verify(ctx, outputs) {
    const { vpcId } = ctx.output('vpc');
    const found = await findOurs(ctx, INTERNET_GATEWAY, undefined, { Name: 'attachment.vpc-id', Values: [vpcId] });
    return found.some((g) => g.InternetGatewayId === outputs.internetGatewayId);
  },

  discover: discoverOurs(INTERNET_GATEWAY),

  async destroy(ctx, resources) {
    const ec2 = await ctx.aws.ec2();
    const owner = ownership(ctx);
    for (const ref of resources.filter((r) => r.type === INTERNET_GATEWAY.type)) {
      // The attachment cannot be tagged: it is ours when the gateway is.
      if (!(await owner.ours(ref, () => ec2Seen(ctx, INTERNET_GATEWAY, ref.id)))) continue;
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
      await deleteWhenFree(ctx, `internet gateway ${ref.id}`, () => ec2.deleteInternetGateway({ InternetGatewayId: ref.id }));
      await ctx.forget(ref);
    }
    return owner.result();
  },
});
