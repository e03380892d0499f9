import type { Activity, AutoScaling, AutoScalingGroup, Filter, Instance, TagDescription } from '@aws-sdk/client-auto-scaling';
import { AWS_MINUTES, MINUTE } from '../aws/durations.js';
import { TAG_NAME } from '../aws/tags.js';
import { awsError, sandboxResource, type Latency, type OperationContext, type SandboxService, type SdkOperations } from './core.js';
import { groupCompute as compute, type ResolvedTemplate } from './autoscaling-compute.js';
import {
  active,
  existingGroup,
  gone,
  groupNamed,
  key,
  lifecycle,
  liveGroups,
  retire,
  settle,
  slice,
  stamp,
  validation,
  type ActivityRecord,
  type AutoScalingWorld,
  type GroupRecord,
  type MemberRecord,
} from './autoscaling-capacity.js';
import { policyOperations } from './autoscaling-policies.js';
import { instanceProfileUsableAt } from './iam.js';

/**
 * EC2 Auto Scaling's groups, as the calls see them: create, describe, update, tag, delete. What a
 * group does on its own is autoscaling-capacity.ts; its scaling policies are autoscaling-policies.ts.
 */

/** A group's name: 1-255 characters, no colon (it would not parse out of an ARN). */
const GROUP_NAME = /^[^:]{1,255}$/;
const DEFAULT_GRACE_SECONDS = 300;

function status(group: GroupRecord): string | undefined {
  return group.goneAt !== undefined ? 'Delete in progress' : undefined;
}

function instanceView(ctx: OperationContext, group: GroupRecord, m: MemberRecord): Instance {
  return {
    InstanceId: m.id,
    AvailabilityZone: m.zone,
    LifecycleState: lifecycle(m, ctx.now),
    HealthStatus: m.unhealthy ? 'Unhealthy' : 'Healthy',
    LaunchTemplate: {
      LaunchTemplateId: group.launchTemplate.id,
      LaunchTemplateName: group.launchTemplate.name,
      Version: m.templateVersion,
    },
    ProtectedFromScaleIn: false,
  };
}

function tagView(group: GroupRecord, t: GroupRecord['tags'][number]): TagDescription {
  return { ResourceId: group.name, ResourceType: 'auto-scaling-group', Key: t.key, Value: t.value, PropagateAtLaunch: t.propagate };
}

function groupView(ctx: OperationContext, g: GroupRecord): AutoScalingGroup {
  return {
    AutoScalingGroupName: g.name,
    AutoScalingGroupARN: g.arn,
    LaunchTemplate: { LaunchTemplateId: g.launchTemplate.id, LaunchTemplateName: g.launchTemplate.name, Version: g.launchTemplate.version },
    MinSize: g.min,
    MaxSize: g.max,
    DesiredCapacity: g.desired,
    DefaultCooldown: g.cooldown,
    AvailabilityZones: [...new Set(g.subnets.map((s) => s.zone))],
    LoadBalancerNames: [],
    TargetGroupARNs: g.targetGroupArns,
    HealthCheckType: g.healthCheckType,
    HealthCheckGracePeriod: g.gracePeriod,
    Instances: g.members.map((m) => instanceView(ctx, g, m)),
    CreatedTime: new Date(g.createdAt),
    SuspendedProcesses: [],
    VPCZoneIdentifier: g.subnets.map((s) => s.id).join(','),
    EnabledMetrics: [],
    Status: status(g),
    Tags: g.tags.map((t) => tagView(g, t)),
    TerminationPolicies: ['Default'],
    NewInstancesProtectedFromScaleIn: false,
    ServiceLinkedRoleARN: `arn:aws:iam::${ctx.world.accountId}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`,
  };
}

function activityView(ctx: OperationContext, g: GroupRecord, a: ActivityRecord): Activity {
  const done = ctx.now >= a.endAt;
  return {
    ActivityId: a.id,
    AutoScalingGroupName: g.name,
    AutoScalingGroupARN: g.arn,
    Description: a.description,
    Cause: a.cause,
    StartTime: new Date(a.at),
    EndTime: done ? new Date(a.endAt) : undefined,
    StatusCode: a.failed ? 'Failed' : done ? 'Successful' : 'InProgress',
    Progress: done ? 100 : 50,
  };
}

function checkSizes(min: number, max: number, desired: number): void {
  for (const [name, value] of [
    ['MinSize', min],
    ['MaxSize', max],
    ['DesiredCapacity', desired],
  ] as const) {
    if (!Number.isInteger(value) || value < 0) throw validation(`${name} must be a whole number of 0 or more.`);
  }
  if (min > max) throw validation('The parameter MaxSize must be greater than or equal to MinSize.');
  if (desired < min) throw validation(`Desired capacity:${desired} must be between the specified min size:${min} and max size:${max}`);
  if (desired > max) throw validation(`Desired capacity:${desired} must be between the specified min size:${min} and max size:${max}`);
}

function subnetsOf(ctx: OperationContext, identifier: string | undefined): GroupRecord['subnets'] {
  const ids = (identifier ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!ids.length) throw validation('No default VPC for this user. VPCZoneIdentifier must name at least one subnet.');
  const subnets = ids.map((id) => {
    const zone = compute.subnetZone(ctx, id);
    if (!zone) throw validation(`The subnet ID '${id}' does not exist`);
    return { id, zone };
  });
  return subnets;
}

function tagsOf(list: Array<{ Key?: string; Value?: string; PropagateAtLaunch?: boolean }> | undefined): GroupRecord['tags'] {
  const tags: GroupRecord['tags'] = [];
  for (const t of list ?? []) {
    if (!t.Key) throw validation('Tag key must be given.');
    if (t.Key.startsWith('aws:')) throw validation(`Tag keys starting with 'aws:' are reserved for internal use: ${t.Key}`);
    const existing = tags.find((e) => e.key === t.Key);
    const tag = { key: t.Key, value: t.Value ?? '', propagate: t.PropagateAtLaunch ?? false };
    if (existing) Object.assign(existing, tag);
    else tags.push(tag);
  }
  return tags;
}

/** `tag:Name`-style and `auto-scaling-group` filters; every filter must hold, its values are alternatives. */
function groupMatches(g: GroupRecord, filters: Filter[] | undefined): boolean {
  return (filters ?? []).every(({ Name = '', Values = [] }) => {
    if (Name.startsWith('tag:')) return g.tags.some((t) => t.key === Name.slice(4) && Values.includes(t.value));
    if (Name === 'tag-key') return g.tags.some((t) => Values.includes(t.key));
    if (Name === 'tag-value') return g.tags.some((t) => Values.includes(t.value));
    throw validation(`Filter name '${Name}' is not valid for DescribeAutoScalingGroups.`);
  });
}

function tagMatches(g: GroupRecord, t: GroupRecord['tags'][number], filters: Filter[] | undefined): boolean {
  return (filters ?? []).every(({ Name = '', Values = [] }) => {
    if (Name === 'auto-scaling-group') return Values.includes(g.name);
    if (Name === 'key') return Values.includes(t.key);
    if (Name === 'value') return Values.includes(t.value);
    if (Name === 'propagate-at-launch') return Values.includes(String(t.propagate));
    throw validation(`Filter name '${Name}' is not valid for DescribeTags.`);
  });
}

/**
 * AWS checks the template's instance profile when the group is made: one IAM has not yet
 * propagated to EC2 is refused (installers retry this for a couple of minutes).
 */
function checkInstanceProfile(ctx: OperationContext, template: ResolvedTemplate): void {
  const profile = template.data.IamInstanceProfile;
  if (!profile) return;
  const name = profile.Name ?? profile.Arn?.split('/').pop() ?? '';
  const usableAt = instanceProfileUsableAt(ctx.world, name);
  if (usableAt === undefined || ctx.now < usableAt) {
    throw validation(
      `You must use a valid fully-formed launch template. Value (${name}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name`,
    );
  }
}

const operations: SdkOperations<AutoScaling> = {
  ...policyOperations,
  CreateAutoScalingGroup(ctx, input) {
    const name = input.AutoScalingGroupName ?? '';
    if (!GROUP_NAME.test(name)) throw validation(`Invalid Auto Scaling group name: ${name}`);
    if (groupNamed(ctx, name))
      throw awsError('AlreadyExistsFault', `AutoScalingGroup by this name already exists - A group with the name ${name} already exists`);
    if (input.LaunchConfigurationName || input.MixedInstancesPolicy || input.InstanceId) {
      throw validation('The sandbox launches groups from a LaunchTemplate only.');
    }
    const spec = input.LaunchTemplate;
    if (!spec || (!spec.LaunchTemplateId && !spec.LaunchTemplateName)) {
      throw validation(
        'Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.',
      );
    }
    if (spec.LaunchTemplateId && spec.LaunchTemplateName) {
      throw validation('Valid requests must contain either launchTemplateId or launchTemplateName, not both.');
    }
    const version = spec.Version ?? '$Default';
    const template = compute.resolveTemplate(ctx, { id: spec.LaunchTemplateId ?? '', name: spec.LaunchTemplateName ?? '', version });
    checkInstanceProfile(ctx, template);
    const min = input.MinSize ?? 0;
    const max = input.MaxSize ?? 0;
    const desired = input.DesiredCapacity ?? min;
    checkSizes(min, max, desired);
    const subnets = subnetsOf(ctx, input.VPCZoneIdentifier);
    const healthCheckType = input.HealthCheckType ?? 'EC2';
    if (healthCheckType !== 'EC2' && healthCheckType !== 'ELB') throw validation(`Invalid health check type: ${healthCheckType}`);
    const targetGroupArns = [...new Set(input.TargetGroupARNs ?? [])];
    for (const arn of targetGroupArns) compute.checkTargetGroup(ctx, arn, subnets[0]!.id);
    const group: GroupRecord = {
      name,
      region: ctx.region,
      arn: `arn:aws:autoscaling:${ctx.region}:${ctx.world.accountId}:autoScalingGroup:${ctx.newId('x', 32).slice(2, 10)}-sandbox:autoScalingGroupName/${name}`,
      createdAt: ctx.now,
      launchTemplate: { id: template.id, name: template.name, version },
      subnets,
      targetGroupArns,
      healthCheckType,
      gracePeriod: input.HealthCheckGracePeriod ?? (healthCheckType === 'ELB' ? DEFAULT_GRACE_SECONDS : 0),
      min,
      max,
      desired,
      cooldown: input.DefaultCooldown ?? 300,
      tags: tagsOf(input.Tags),
      members: [],
      activities: [],
      syncedAt: ctx.now,
      activitySeq: 0,
    };
    slice(ctx).groups[key(ctx.region, name)] = group;
    settle(ctx, group, ctx.now);
    return {};
  },

  DescribeAutoScalingGroups(ctx, input) {
    const named = input.AutoScalingGroupNames?.length ? new Set(input.AutoScalingGroupNames) : undefined;
    const groups = liveGroups(ctx).filter((g) => (!named || named.has(g.name)) && groupMatches(g, input.Filters));
    return { AutoScalingGroups: groups.map((g) => groupView(ctx, g)) };
  },

  DescribeAutoScalingInstances(ctx, input) {
    const wanted = input.InstanceIds?.length ? new Set(input.InstanceIds) : undefined;
    return {
      AutoScalingInstances: liveGroups(ctx).flatMap((g) =>
        g.members
          .filter((m) => !wanted || wanted.has(m.id))
          .map((m) => {
            const view = instanceView(ctx, g, m);
            return {
              InstanceId: m.id,
              AutoScalingGroupName: g.name,
              AvailabilityZone: m.zone,
              LifecycleState: view.LifecycleState,
              HealthStatus: view.HealthStatus!.toUpperCase(),
              LaunchTemplate: view.LaunchTemplate,
              ProtectedFromScaleIn: false,
            };
          }),
      ),
    };
  },

  DescribeScalingActivities(ctx, input) {
    const groups = input.AutoScalingGroupName ? [existingGroup(ctx, input.AutoScalingGroupName)] : liveGroups(ctx);
    const wanted = input.ActivityIds?.length ? new Set(input.ActivityIds) : undefined;
    // Newest first, as AWS lists them.
    const activities = groups
      .flatMap((g) => g.activities.filter((a) => !wanted || wanted.has(a.id)).map((a) => ({ g, a })))
      .sort((x, y) => y.a.at - x.a.at || y.a.id.localeCompare(x.a.id))
      .slice(0, input.MaxRecords ?? 100);
    return { Activities: activities.map(({ g, a }) => activityView(ctx, g, a)) };
  },

  UpdateAutoScalingGroup(ctx, input) {
    const group = existingGroup(ctx, input.AutoScalingGroupName);
    if (group.goneAt !== undefined) {
      throw awsError('ScalingActivityInProgressFault', 'The Auto Scaling group is being deleted.');
    }
    if (input.LaunchTemplate) {
      const spec = input.LaunchTemplate;
      const version = spec.Version ?? '$Default';
      const template = compute.resolveTemplate(ctx, { id: spec.LaunchTemplateId ?? '', name: spec.LaunchTemplateName ?? '', version });
      group.launchTemplate = { id: template.id, name: template.name, version };
    }
    const min = input.MinSize ?? group.min;
    const max = input.MaxSize ?? group.max;
    // As on AWS, a new min or max alone pulls the desired capacity into the new range.
    const desired = input.DesiredCapacity ?? Math.min(Math.max(group.desired, min), max);
    checkSizes(min, max, desired);
    if (input.VPCZoneIdentifier) group.subnets = subnetsOf(ctx, input.VPCZoneIdentifier);
    if (input.HealthCheckType) {
      if (input.HealthCheckType !== 'EC2' && input.HealthCheckType !== 'ELB')
        throw validation(`Invalid health check type: ${input.HealthCheckType}`);
      group.healthCheckType = input.HealthCheckType;
    }
    if (input.HealthCheckGracePeriod !== undefined) group.gracePeriod = input.HealthCheckGracePeriod;
    if (input.DefaultCooldown !== undefined) group.cooldown = input.DefaultCooldown;
    Object.assign(group, { min, max, desired });
    settle(ctx, group, ctx.now);
    return {};
  },

  SetDesiredCapacity(ctx, input) {
    const group = existingGroup(ctx, input.AutoScalingGroupName);
    const desired = input.DesiredCapacity ?? group.desired;
    checkSizes(group.min, group.max, desired);
    group.desired = desired;
    settle(ctx, group, ctx.now);
    return {};
  },

  DeleteAutoScalingGroup(ctx, input) {
    const group = existingGroup(ctx, input.AutoScalingGroupName);
    if (group.goneAt !== undefined) return {};
    if (!input.ForceDelete && group.members.length > 0 && !active(group).length) {
      // Only instances on their way out: AWS says to wait for that activity rather than to empty the group.
      throw awsError(
        'ScalingActivityInProgressFault',
        'You cannot delete an AutoScalingGroup while there are scaling activities in progress for that group.',
      );
    }
    if (!input.ForceDelete && group.members.length > 0) {
      throw awsError(
        'ResourceInUseFault',
        'You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.',
      );
    }
    for (const member of active(group)) {
      retire(ctx, group, member, ctx.now, `At ${stamp(ctx.now)} the group was deleted with ForceDelete.`);
    }
    group.goneAt = ctx.now + AWS_MINUTES.autoScalingGroup.delete * MINUTE;
    return {};
  },

  CreateOrUpdateTags(ctx, input) {
    for (const tag of input.Tags ?? []) {
      if (tag.ResourceType && tag.ResourceType !== 'auto-scaling-group') throw validation(`Invalid resource type ${tag.ResourceType}`);
      const group = existingGroup(ctx, tag.ResourceId);
      const [parsed] = tagsOf([tag]);
      const existing = group.tags.find((t) => t.key === parsed!.key);
      if (existing) Object.assign(existing, parsed);
      else group.tags.push(parsed!);
    }
    return {};
  },

  DeleteTags(ctx, input) {
    for (const tag of input.Tags ?? []) {
      const group = existingGroup(ctx, tag.ResourceId);
      group.tags = group.tags.filter((t) => t.key !== tag.Key);
    }
    return {};
  },

  DescribeTags(ctx, input) {
    return {
      Tags: liveGroups(ctx).flatMap((g) => g.tags.filter((t) => tagMatches(g, t, input.Filters)).map((t) => tagView(g, t))),
    };
  },
};

export const autoscalingLatency: Latency<'autoscaling'> = {
  PutScalingPolicy: AWS_MINUTES.scalingPolicyOrAlarm.create,
  DeletePolicy: AWS_MINUTES.scalingPolicyOrAlarm.delete,
};

export const autoscalingService: SandboxService<AutoScalingWorld, 'autoscaling'> = {
  name: 'autoscaling',
  operations,
  latency: autoscalingLatency,
  empty: () => ({ groups: {}, policies: {} }),
  // Every group up to date, in every region (so the world's ID generator is drawn in the same order
  // whichever region a process calls first), and those whose deletion finished forgotten with their policies.
  catchUp: (ctx) => {
    const regions = new Set(Object.values(ctx.world.autoscaling.groups).map((g) => g.region));
    for (const region of [...regions].sort()) liveGroups({ ...ctx, region });
  },
  inventory: (world, now) => [
    ...Object.values(world.autoscaling.groups)
      .filter((g) => !gone(g, now))
      .map((g) => {
        const tags = Object.fromEntries(g.tags.map((t) => [t.key, t.value]));
        return sandboxResource('AWS::AutoScaling::AutoScalingGroup', g.name, tags[TAG_NAME] ?? g.name, tags);
      }),
    // A policy has no tags of its own: it belongs to its group's deployment.
    ...Object.values(world.autoscaling.policies).flatMap((p) => {
      const group = world.autoscaling.groups[key(p.region, p.group)];
      if (!group || gone(group, now)) return [];
      const tags = Object.fromEntries(group.tags.map((t) => [t.key, t.value]));
      return [sandboxResource('AWS::AutoScaling::ScalingPolicy', p.arn, p.name, tags)];
    }),
  ],
};
