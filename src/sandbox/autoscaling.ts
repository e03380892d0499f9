import type {
  Activity,
  AutoScaling,
  AutoScalingGroup,
  Filter,
  Instance,
  ScalingPolicy,
  StepAdjustment,
  TagDescription,
} from '@aws-sdk/client-auto-scaling';
import { AWS_MINUTES, MINUTE } from '../aws/durations.js';
import { TAG_NAME } from '../aws/tags.js';
import { awsError, sandboxResource, type Latency, type OperationContext, type SandboxService, type SdkOperations } from './core.js';
import { groupCompute as compute, type ResolvedTemplate } from './autoscaling-compute.js';
import { instanceProfileUsableAt } from './iam.js';

/**
 * EC2 Auto Scaling: groups that keep their desired capacity of instances launched from a launch
 * template, with ELB health checks, and the simple and step scaling policies CloudWatch alarms
 * call. The sandbox runs no background process, so a group is brought up to date, event by event
 * in time order, whenever a call reads or changes it (`advance`): what it would have done between
 * two calls is done then, at the times it would have happened, and two runs repeat exactly.
 */
export interface AutoScalingWorld {
  /** By `${region}:${name}`. */
  groups: Record<string, GroupRecord>;
  /** By policy ARN. */
  policies: Record<string, PolicyRecord>;
}

export interface GroupRecord {
  name: string;
  region: string;
  arn: string;
  createdAt: number;
  /** As the caller named it (ID or name, and the version string, $Latest and $Default included). */
  launchTemplate: { id: string; name: string; version: string };
  subnets: Array<{ id: string; zone: string }>;
  targetGroupArns: string[];
  healthCheckType: 'EC2' | 'ELB';
  /** Seconds after an instance is InService before a failing health check counts. */
  gracePeriod: number;
  min: number;
  max: number;
  desired: number;
  cooldown: number;
  tags: Array<{ key: string; value: string; propagate: boolean }>;
  members: MemberRecord[];
  activities: ActivityRecord[];
  /** The sandbox time the group has been brought up to. */
  syncedAt: number;
  /** Set by DeleteAutoScalingGroup: "Delete in progress" until then, gone after. */
  goneAt?: number;
  /** A running count, so activity IDs are unique and ordered without the world's generator. */
  activitySeq: number;
}

export interface MemberRecord {
  id: string;
  zone: string;
  subnetId: string;
  launchedAt: number;
  /** When EC2 reports it running: Pending until then. */
  inServiceAt: number;
  /** When its health first counts: InService and the grace period over. */
  checkAt: number;
  /** Set when the group decided to terminate it. */
  terminatingAt?: number;
  unhealthy?: boolean;
  templateVersion: string;
}

export interface ActivityRecord {
  id: string;
  description: string;
  cause: string;
  at: number;
  endAt: number;
  failed: boolean;
}

export interface PolicyRecord {
  arn: string;
  name: string;
  region: string;
  group: string;
  type: 'SimpleScaling' | 'StepScaling';
  adjustmentType: string;
  scalingAdjustment?: number;
  stepAdjustments?: StepAdjustment[];
  cooldown?: number;
  metricAggregationType?: string;
  estimatedInstanceWarmup?: number;
  minAdjustmentMagnitude?: number;
  enabled: boolean;
}

const ADJUSTMENT_TYPES = ['ChangeInCapacity', 'ExactCapacity', 'PercentChangeInCapacity'];
/** A group's name: 1-255 characters, no colon (it would not parse out of an ARN). */
const GROUP_NAME = /^[^:]{1,255}$/;
/** Auto Scaling keeps six weeks of activities; the sandbox keeps the latest ones. */
const KEPT_ACTIVITIES = 100;
const DEFAULT_GRACE_SECONDS = 300;
const HEALTH_CHECK_INTERVAL = MINUTE;

function validation(message: string): Error {
  return awsError('ValidationError', message);
}

function key(region: string, name: string): string {
  return `${region}:${name}`;
}

function slice(ctx: OperationContext): AutoScalingWorld {
  return ctx.world.autoscaling;
}

function gone(group: GroupRecord, now: number): boolean {
  return group.goneAt !== undefined && now >= group.goneAt;
}

/** A group AWS still describes, brought up to date; a group whose deletion finished is forgotten. */
function groupNamed(ctx: OperationContext, name: string | undefined): GroupRecord | undefined {
  const k = key(ctx.region, name ?? '');
  const group = slice(ctx).groups[k];
  if (!group) return undefined;
  if (gone(group, ctx.now)) {
    forget(ctx, group);
    return undefined;
  }
  advance(ctx, group);
  return group;
}

function existingGroup(ctx: OperationContext, name: string | undefined): GroupRecord {
  const group = groupNamed(ctx, name);
  if (!group) throw validation(`AutoScalingGroup name not found - AutoScalingGroup ${name} not found`);
  return group;
}

function liveGroups(ctx: OperationContext): GroupRecord[] {
  return Object.values(slice(ctx).groups)
    .filter((g) => g.region === ctx.region)
    .flatMap((g) => groupNamed(ctx, g.name) ?? [])
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** A deleted group takes its policies with it. */
function forget(ctx: OperationContext, group: GroupRecord): void {
  delete slice(ctx).groups[key(group.region, group.name)];
  for (const policy of Object.values(slice(ctx).policies)) {
    if (policy.region === group.region && policy.group === group.name) delete slice(ctx).policies[policy.arn];
  }
}

/** The operation's context as it was at an earlier moment (for what the group did then). */
function at(ctx: OperationContext, time: number): OperationContext {
  return { ...ctx, now: time };
}

function lifecycle(m: MemberRecord, now: number): Instance['LifecycleState'] {
  if (m.terminatingAt !== undefined) return 'Terminating';
  return now >= m.inServiceAt ? 'InService' : 'Pending';
}

/** Members that count toward the desired capacity (not on their way out). */
function active(group: GroupRecord): MemberRecord[] {
  return group.members.filter((m) => m.terminatingAt === undefined);
}

function record(group: GroupRecord, time: number, description: string, cause: string, minutes: number, failed = false): void {
  group.activitySeq += 1;
  const id = `${group.activitySeq.toString(16).padStart(8, '0')}-${group.arn.slice(-4)}-sandbox-activity`;
  group.activities.push({ id, description, cause, at: time, endAt: time + minutes * MINUTE, failed });
  if (group.activities.length > KEPT_ACTIVITIES) group.activities.splice(0, group.activities.length - KEPT_ACTIVITIES);
}

function stamp(time: number): string {
  return new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The zone with the fewest active members (AWS balances a group across its zones). */
function nextSubnet(group: GroupRecord): GroupRecord['subnets'][number] {
  const count = (zone: string) => active(group).filter((m) => m.zone === zone).length;
  return [...group.subnets].sort((a, b) => count(a.zone) - count(b.zone))[0]!;
}

/**
 * Which member goes on scale-in, by AWS's default termination policy: from the zone with the
 * most, an instance of an older template version first, then the newest (the sandbox has no
 * billing hour to be closest to).
 */
function toRetire(group: GroupRecord): MemberRecord {
  const members = active(group);
  const count = (zone: string) => members.filter((m) => m.zone === zone).length;
  const most = Math.max(...members.map((m) => count(m.zone)));
  return members
    .filter((m) => count(m.zone) === most)
    .sort((a, b) => Number(a.templateVersion) - Number(b.templateVersion) || b.launchedAt - a.launchedAt)[0]!;
}

function launch(ctx: OperationContext, group: GroupRecord, time: number, cause: string): void {
  const subnet = nextSubnet(group);
  const then = at(ctx, time);
  const template = compute.resolveTemplate(then, group.launchTemplate);
  const tags = Object.fromEntries(group.tags.filter((t) => t.propagate).map((t) => [t.key, t.value]));
  tags['aws:autoscaling:groupName'] = group.name;
  let id: string;
  try {
    id = compute.launch(then, { template, subnetId: subnet.id, tags });
  } catch (err) {
    // AWS records a failed launch as a failed activity and tries again later; so does the sandbox.
    record(
      group,
      time,
      `Launching a new EC2 instance.  Status Reason: ${(err as Error).message}. Launching EC2 instance failed.`,
      cause,
      0,
      true,
    );
    throw err;
  }
  for (const arn of group.targetGroupArns) compute.register(then, arn, id);
  const inServiceAt = time + AWS_MINUTES.ec2Instance.create * MINUTE;
  group.members.push({
    id,
    zone: subnet.zone,
    subnetId: subnet.id,
    launchedAt: time,
    inServiceAt,
    checkAt: inServiceAt + group.gracePeriod * 1000,
    templateVersion: template.version,
  });
  record(group, time, `Launching a new EC2 instance: ${id}`, cause, AWS_MINUTES.ec2Instance.create);
}

function retire(ctx: OperationContext, group: GroupRecord, member: MemberRecord, time: number, cause: string): void {
  const then = at(ctx, time);
  member.terminatingAt = time;
  for (const arn of group.targetGroupArns) compute.deregister(then, arn, member.id);
  compute.terminate(then, member.id);
  record(group, time, `Terminating EC2 instance: ${member.id}`, cause, AWS_MINUTES.ec2Instance.delete);
}

/**
 * Brings the group up to `ctx.now`: launches what the desired capacity lacks, retires what it
 * exceeds, checks each instance's health when its grace period ends (an ELB-checked instance that
 * is not healthy then is terminated and replaced, so a grace period shorter than the boot loops
 * as on AWS), and drops members whose instance has terminated. Events are taken in time order.
 */
function advance(ctx: OperationContext, group: GroupRecord): void {
  // A caller whose timeline is behind the group's sees it as it is (its views read their own time).
  if (ctx.now <= group.syncedAt) return;
  let time = group.syncedAt;
  for (;;) {
    const next = nextEvent(group, time);
    if (next === undefined || next > ctx.now) break;
    time = next;
    settle(ctx, group, time);
  }
  if (time < ctx.now) settle(ctx, group, ctx.now);
  group.syncedAt = ctx.now;
}

/** What the group does at one moment: health checks due, terminations done, capacity kept. */
function settle(ctx: OperationContext, group: GroupRecord, time: number): void {
  const then = at(ctx, time);
  group.members = group.members.filter((m) => m.terminatingAt === undefined || !compute.terminated(then, m.id));
  if (group.goneAt !== undefined) return;
  for (const member of active(group)) {
    if (time < member.checkAt || compute.healthy(then, group, member.id)) continue;
    member.unhealthy = true;
    const reason =
      group.healthCheckType === 'ELB'
        ? `an instance was taken out of service in response to an ELB system health check failure.`
        : `an instance was taken out of service in response to an EC2 health check indicating it has been terminated or stopped.`;
    retire(ctx, group, member, time, `At ${stamp(time)} ${reason}`);
  }
  const missing = group.desired - active(group).length;
  for (let i = 0; i < missing; i++) {
    const cause = `At ${stamp(time)} an instance was started in response to a difference between desired and actual capacity, increasing the capacity from ${active(group).length} to ${group.desired}.`;
    try {
      launch(ctx, group, time, cause);
    } catch {
      break;
    }
  }
  while (active(group).length > group.desired) {
    const from = active(group).length;
    retire(
      ctx,
      group,
      toRetire(group),
      time,
      `At ${stamp(time)} an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity from ${from} to ${group.desired}.`,
    );
  }
}

/**
 * The next moment after `time` at which the group acts on its own: a member's termination done,
 * its grace period over, or the next of its health checks, which AWS runs about once a minute.
 */
function nextEvent(group: GroupRecord, time: number): number | undefined {
  const times = group.members.map((m) => {
    if (m.terminatingAt !== undefined) return m.terminatingAt + AWS_MINUTES.ec2Instance.delete * MINUTE;
    if (time < m.checkAt) return m.checkAt;
    return m.checkAt + (Math.floor((time - m.checkAt) / HEALTH_CHECK_INTERVAL) + 1) * HEALTH_CHECK_INTERVAL;
  });
  const later = times.filter((t) => t > time);
  return later.length ? Math.min(...later) : undefined;
}

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

function policyView(p: PolicyRecord, alarms: Array<{ AlarmName: string; AlarmARN: string }>): ScalingPolicy {
  return {
    AutoScalingGroupName: p.group,
    PolicyName: p.name,
    PolicyARN: p.arn,
    PolicyType: p.type,
    AdjustmentType: p.adjustmentType,
    ScalingAdjustment: p.scalingAdjustment,
    StepAdjustments: p.stepAdjustments,
    Cooldown: p.cooldown,
    MetricAggregationType: p.metricAggregationType,
    EstimatedInstanceWarmup: p.estimatedInstanceWarmup,
    MinAdjustmentMagnitude: p.minAdjustmentMagnitude,
    Alarms: alarms,
    Enabled: p.enabled,
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

function policyArn(ctx: OperationContext, group: GroupRecord, name: string): string {
  // AWS's policy IDs are UUIDs; the sandbox's are drawn from the world's generator, so runs repeat.
  const id = ctx.newId('x', 32).slice(2);
  const uuid = `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20, 32)}`;
  return `arn:aws:autoscaling:${ctx.region}:${ctx.world.accountId}:scalingPolicy:${uuid}:autoScalingGroupName/${group.name}:policyName/${name}`;
}

function checkPolicy(input: {
  PolicyType?: string;
  AdjustmentType?: string;
  ScalingAdjustment?: number;
  StepAdjustments?: StepAdjustment[];
}): PolicyRecord['type'] {
  const type = input.PolicyType ?? 'SimpleScaling';
  if (type !== 'SimpleScaling' && type !== 'StepScaling') {
    throw validation(`The sandbox models SimpleScaling and StepScaling policies, not ${type}.`);
  }
  if (!input.AdjustmentType || !ADJUSTMENT_TYPES.includes(input.AdjustmentType)) {
    throw validation(`Invalid adjustment type ${input.AdjustmentType}. Valid values are ${ADJUSTMENT_TYPES.join(', ')}.`);
  }
  if (type === 'SimpleScaling') {
    if (input.ScalingAdjustment === undefined) throw validation('ScalingAdjustment is required for a SimpleScaling policy.');
    if (input.StepAdjustments?.length) throw validation('StepAdjustments are not allowed for a SimpleScaling policy.');
  } else {
    if (!input.StepAdjustments?.length) throw validation('StepAdjustments are required for a StepScaling policy.');
    if (input.ScalingAdjustment !== undefined) throw validation('ScalingAdjustment is not allowed for a StepScaling policy.');
    for (const step of input.StepAdjustments) {
      if (step.ScalingAdjustment === undefined) throw validation('Each step adjustment needs a ScalingAdjustment.');
      if (step.MetricIntervalLowerBound === undefined && step.MetricIntervalUpperBound === undefined) {
        throw validation('A step adjustment needs a lower or an upper bound.');
      }
    }
  }
  return type;
}

const operations: SdkOperations<AutoScaling> = {
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
    const remaining = group.members.length;
    if (!input.ForceDelete && remaining > 0) {
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

  PutScalingPolicy(ctx, input) {
    const group = existingGroup(ctx, input.AutoScalingGroupName);
    const name = input.PolicyName ?? '';
    if (!name || name.length > 255 || name.includes(':')) throw validation(`Invalid policy name: ${name}`);
    const type = checkPolicy(input);
    const existing = Object.values(slice(ctx).policies).find((p) => p.region === ctx.region && p.group === group.name && p.name === name);
    // Create-or-update: the same name keeps its ARN, so the alarms naming it keep working.
    const policy: PolicyRecord = {
      arn: existing?.arn ?? policyArn(ctx, group, name),
      name,
      region: ctx.region,
      group: group.name,
      type,
      adjustmentType: input.AdjustmentType!,
      scalingAdjustment: input.ScalingAdjustment,
      stepAdjustments: input.StepAdjustments,
      cooldown: type === 'SimpleScaling' ? input.Cooldown : undefined,
      metricAggregationType: type === 'StepScaling' ? (input.MetricAggregationType ?? 'Average') : undefined,
      estimatedInstanceWarmup: type === 'StepScaling' ? input.EstimatedInstanceWarmup : undefined,
      minAdjustmentMagnitude: input.MinAdjustmentMagnitude,
      enabled: input.Enabled ?? true,
    };
    slice(ctx).policies[policy.arn] = policy;
    return { PolicyARN: policy.arn, Alarms: alarmsCalling(ctx, policy.arn) };
  },

  DescribePolicies(ctx, input) {
    if (input.AutoScalingGroupName) existingGroup(ctx, input.AutoScalingGroupName);
    const names = input.PolicyNames?.length ? new Set(input.PolicyNames) : undefined;
    const types = input.PolicyTypes?.length ? new Set(input.PolicyTypes) : undefined;
    const policies = Object.values(slice(ctx).policies)
      .filter(
        (p) =>
          p.region === ctx.region &&
          (!input.AutoScalingGroupName || p.group === input.AutoScalingGroupName) &&
          (!names || names.has(p.name) || names.has(p.arn)) &&
          (!types || types.has(p.type)),
      )
      .sort((a, b) => a.group.localeCompare(b.group) || a.name.localeCompare(b.name));
    return { ScalingPolicies: policies.map((p) => policyView(p, alarmsCalling(ctx, p.arn))) };
  },

  DeletePolicy(ctx, input) {
    const policy = findPolicy(ctx, input.AutoScalingGroupName, input.PolicyName);
    if (!policy) throw validation(`Policy ${input.PolicyName} not found for group ${input.AutoScalingGroupName}.`);
    delete slice(ctx).policies[policy.arn];
    return {};
  },
};

function findPolicy(ctx: OperationContext, groupName: string | undefined, nameOrArn: string | undefined): PolicyRecord | undefined {
  const byArn = slice(ctx).policies[nameOrArn ?? ''];
  if (byArn && byArn.region === ctx.region) return byArn;
  if (groupName) existingGroup(ctx, groupName);
  return Object.values(slice(ctx).policies).find((p) => p.region === ctx.region && p.group === groupName && p.name === nameOrArn);
}

/** The alarms whose actions call a policy (CloudWatch's part of the account, read here as AWS joins them). */
function alarmsCalling(ctx: OperationContext, arn: string): Array<{ AlarmName: string; AlarmARN: string }> {
  return Object.values(ctx.world.cloudwatch.alarms)
    .filter((a) => a.region === ctx.region && a.alarmActions.includes(arn))
    .map((a) => ({ AlarmName: a.name, AlarmARN: a.arn }));
}

/** Whether a scaling policy ARN names a policy of the account's region (what PutMetricAlarm checks). */
export function scalingPolicyExists(ctx: OperationContext, arn: string): boolean {
  const policy = slice(ctx).policies[arn];
  return policy !== undefined && policy.region === ctx.region;
}

/** The instance IDs a group holds now (for the inventory of other modules and for tests). */
export function groupInstanceIds(ctx: OperationContext, name: string): string[] {
  return groupNamed(ctx, name)?.members.map((m) => m.id) ?? [];
}

export const autoscalingLatency: Latency<'autoscaling'> = {
  PutScalingPolicy: AWS_MINUTES.scalingPolicyOrAlarm.create,
  DeletePolicy: AWS_MINUTES.scalingPolicyOrAlarm.delete,
};

export const autoscalingService: SandboxService<AutoScalingWorld, 'autoscaling'> = {
  name: 'autoscaling',
  operations,
  latency: autoscalingLatency,
  empty: () => ({ groups: {}, policies: {} }),
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
