import { awsError, type OperationContext } from './core.js';
import { state } from './ec2.js';
import { deregisterInstanceTargets, registerInstanceTargets, targetHealth } from './elb-targets.js';
import { launchInstance, terminate, type LaunchSpec } from './instances.js';
import { launchTemplateData, launchTemplateOf } from './launch-templates.js';
import type { GroupRecord } from './autoscaling-capacity.js';

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
  running(ctx: OperationContext, instanceId: string): boolean;
  /** The group's health check: EC2 says running; ELB says healthy in every target group of the group. */
  healthy(ctx: OperationContext, group: GroupRecord, instanceId: string): boolean;
  /** Registers a running instance in a target group (a target group deleted meanwhile is passed over, as AWS does). */
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
  resolveTemplate(ctx, spec) {
    const ref = spec.id ? { LaunchTemplateId: spec.id } : { LaunchTemplateName: spec.name };
    try {
      const template = launchTemplateOf(ctx, ref);
      const data = launchTemplateData(ctx, { ...ref, Version: spec.version });
      const numbers = (template.attrs.versions as Array<{ number: number }>).map((v) => v.number);
      const version =
        spec.version === '$Latest' ? Math.max(...numbers) : spec.version === '$Default' ? template.attrs.defaultVersion : spec.version;
      return { id: template.id, name: template.attrs.name as string, version: String(version), data };
    } catch (err) {
      // Auto Scaling reports EC2's refusal of the template as its own validation error.
      throw awsError('ValidationError', `You must use a valid fully-formed launch template. ${(err as Error).message}`);
    }
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

  running(ctx, instanceId) {
    const r = exists(ctx, 'instance', instanceId);
    return r !== undefined && state(r, ctx.now) === 'running';
  },

  healthy(ctx, group, instanceId) {
    if (!this.running(ctx, instanceId)) return false;
    if (group.healthCheckType !== 'ELB') return true;
    // Only a target ELB reports unhealthy counts against the instance (initial, unused, draining do not).
    return group.targetGroupArns.every((arn) => {
      const tg = ctx.world.elbv2.targetGroups[arn];
      const target = tg?.targets?.[instanceId];
      return !tg || !target || targetHealth(ctx, tg, target).State !== 'unhealthy';
    });
  },

  register(ctx, targetGroupArn, instanceId) {
    if (ctx.world.elbv2.targetGroups[targetGroupArn]) registerInstanceTargets(ctx, targetGroupArn, [{ Id: instanceId }]);
  },

  deregister(ctx, targetGroupArn, instanceId) {
    if (ctx.world.elbv2.targetGroups[targetGroupArn]) deregisterInstanceTargets(ctx, targetGroupArn, [{ Id: instanceId }]);
  },

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
