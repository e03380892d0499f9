import { z } from 'zod';
import { AWS_MINUTES } from '../aws/durations.js';
import { unlessNotFound } from '../aws/errors.js';
import { notOurs } from './ownership.js';
import { defineStep } from '../engine/step.js';
import { autoScalingGroup } from './auto-scaling-group.js';
import { baseInstance } from './base-instance.js';
import { ec2Seen, whenTerminated } from './ec2-common.js';
import { INSTANCE } from './instances.js';
import { loadBalancer } from './load-balancer.js';

/**
 * Guide: "terminate the instance we previously created manually. We only needed this instance to
 * create our custom AMI." Once the group's nodes are healthy, the base instance leaves the HTTP
 * target group and is terminated. It makes nothing: the base-instance step still owns (and tears
 * down) the instance; this step only ends its life on schedule.
 */
export const retireBaseInstance = defineStep({
  id: 'retire-base-instance',
  title: 'Base instance retired',
  needs: [autoScalingGroup, baseInstance, loadBalancer],
  minutes: AWS_MINUTES.ec2Instance.delete,
  outputs: z.object({
    instanceId: z.string(),
    /** The target group it left. */
    deregisteredFrom: z.string(),
    /** False when it was gone already (terminated by hand, say). */
    terminated: z.boolean(),
  }),
  resources: () => [],

  async create(ctx) {
    const ec2 = await ctx.aws.ec2();
    const elb = await ctx.aws.elbv2();
    const { instanceId } = ctx.output('base-instance');
    const httpTargetGroup = ctx.output('load-balancer').targetGroupArns.http;
    const seen = await ec2Seen(ctx, INSTANCE, instanceId);
    // Gone already (a resume after a crash here, or terminated by hand): it left its target groups with it.
    if (seen !== undefined && !('foreign' in seen)) {
      const reason = notOurs(seen, ctx.deployment);
      if (reason) throw new Error(`instance ${instanceId} is ${reason}: not terminating it; check the state file, then resume`);
      // The group's nodes serve now: the load balancer stops sending the base instance requests first.
      await unlessNotFound(() => elb.deregisterTargets({ TargetGroupArn: httpTargetGroup, Targets: [{ Id: instanceId }] }));
      ctx.progress(`terminating the base instance ${instanceId}: the group's nodes serve GitLab now`);
      await unlessNotFound(() => ec2.terminateInstances({ InstanceIds: [instanceId] }));
    }
    await whenTerminated(ctx, [instanceId]);
    // Known gone: the state file stops listing it (the base-instance step's verify then looks for its image).
    await ctx.forget({ type: INSTANCE.type, id: instanceId });
    return { instanceId, deregisteredFrom: httpTargetGroup, terminated: seen !== undefined };
  },

  async verify(ctx, outputs) {
    // Retired stays retired: anything but a live instance of that ID is fine.
    return (await ec2Seen(ctx, INSTANCE, outputs.instanceId)) === undefined;
  },

  async discover() {
    return [];
  },
  async destroy() {},
});
