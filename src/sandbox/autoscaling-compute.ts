import { awsError, type OperationContext } from './core.js';
import { state } from './ec2.js';
import { launchInstance, terminate, type LaunchSpec } from './instances.js';
import type { GroupRecord } from './autoscaling.js';

/**
 * What an Auto Scaling group asks of EC2 and Elastic Load Balancing: one seam, so the group's
 * own rules (autoscaling.ts) read as AWS documents them and the other services' modules stay
 * theirs. Every function takes the context of the moment the group acts, which may be earlier
 * than the call that brought the group up to date.
 */
export interface GroupCompute {
  /** The template version a group launches from now (a $Latest or $Default resolved), or ValidationError. */
  resolveTemplate(ctx: OperationContext, spec: { id: string; name: string; version: string }): ResolvedTemplate;
  /** Launches one instance from the template's data into a subnet with the group's tags; its ID. */
  launch(ctx: OperationContext, spec: { template: ResolvedTemplate; subnetId: string; tags: Record<string, string> }): string;
  terminate(ctx: OperationContext, instanceId: string): void;
  /** True once EC2 reports the instance terminated (or has forgotten it). */
  terminated(ctx: OperationContext, instanceId: string): boolean;
  /** The group's health check: EC2 says running; ELB says healthy in every target group of the group. */
  healthy(ctx: OperationContext, group: GroupRecord, instanceId: string): boolean;
  register(ctx: OperationContext, targetGroupArn: string, instanceId: string): void;
  deregister(ctx: OperationContext, targetGroupArn: string, instanceId: string): void;
  /** The subnet's Availability Zone, or undefined for a subnet that does not exist. */
  subnetZone(ctx: OperationContext, subnetId: string): string | undefined;
  /** Refuses a target group that does not exist or is in another VPC than the subnet. */
  checkTargetGroup(ctx: OperationContext, arn: string, subnetId: string): void;
}

export interface ResolvedTemplate {
  id: string;
  name: string;
  /** The number of the version resolved, as a string (what DescribeAutoScalingGroups shows per instance). */
  version: string;
  /** RequestLaunchTemplateData, in the SDK's field names: launchInstance takes it as it is. */
  data: LaunchSpec;
}

function exists(ctx: OperationContext, kind: 'subnet' | 'instance', id: string) {
  const r = ctx.world.ec2[id];
  return r && r.kind === kind && r.region === ctx.region ? r : undefined;
}

export const groupCompute: GroupCompute = {
  resolveTemplate(_ctx, spec) {
    // The launch templates are compute-sandbox's (ec2): resolved here once they exist.
    throw awsError('ValidationError', `The specified launch template, with template ID ${spec.id || spec.name}, does not exist.`);
  },

  launch(ctx, { template, subnetId, tags }) {
    const { SubnetId: _ignored, TagSpecifications, ...data } = template.data;
    // The group's propagated tags join the template's instance tags, and win over them as on AWS.
    const instanceTags = TagSpecifications?.find((s) => s.ResourceType === 'instance')?.Tags ?? [];
    const merged = { ...Object.fromEntries(instanceTags.map((t) => [t.Key ?? '', t.Value ?? ''])), ...tags };
    const specs = [
      ...(TagSpecifications ?? []).filter((s) => s.ResourceType !== 'instance'),
      { ResourceType: 'instance', Tags: Object.entries(merged).map(([Key, Value]) => ({ Key, Value })) },
    ];
    return launchInstance(ctx, { ...data, SubnetId: subnetId, TagSpecifications: specs }).id;
  },

  terminate(ctx, instanceId) {
    const r = exists(ctx, 'instance', instanceId);
    if (r && r.goneAt === undefined) terminate(ctx, r);
  },

  terminated(ctx, instanceId) {
    const r = exists(ctx, 'instance', instanceId);
    return !r || state(r, ctx.now) === 'terminated';
  },

  healthy(ctx, _group, instanceId) {
    const r = exists(ctx, 'instance', instanceId);
    return r !== undefined && state(r, ctx.now) === 'running';
  },

  register() {},
  deregister() {},

  subnetZone(ctx, subnetId) {
    return exists(ctx, 'subnet', subnetId)?.attrs.availabilityZone as string | undefined;
  },

  checkTargetGroup(ctx, arn, subnetId) {
    const tg = ctx.world.elbv2.targetGroups[arn];
    const vpcId = exists(ctx, 'subnet', subnetId)?.attrs.vpcId;
    if (!tg || tg.region !== ctx.region) throw awsError('ValidationError', `Provided Target Groups may not be valid. ${arn} not found.`);
    if (tg.vpcId !== vpcId) throw awsError('ValidationError', `The target group ${arn} is in another VPC than the group's subnets.`);
  },
};
