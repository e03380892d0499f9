import { z } from 'zod';
import type { AutoScaling } from '@aws-sdk/client-auto-scaling';
import type { CloudWatch, MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { AWS_MINUTES } from '../aws/durations.js';
import { errorCode, unlessNotFound } from '../aws/errors.js';
import { belongsTo } from '../aws/tags.js';
import { defineStep, type ResourceRef, type StepContext } from '../engine/step.js';
import { autoScalingGroup, groupTags } from './auto-scaling-group.js';
import { guideNames } from './names.js';
import { ownership, type Seen } from './ownership.js';

const POLICY = 'AWS::AutoScaling::ScalingPolicy';
const ALARM = 'AWS::CloudWatch::Alarm';
const DIRECTIONS = ['up', 'down'] as const;
type Direction = (typeof DIRECTIONS)[number];

/**
 * Five-minute averages, two in a row: a build burst does not add a node, a quiet lunch does not
 * remove one. The cooldown lets a new node boot (minutes) before the next change.
 */
const ALARM_PERIOD_S = 300;
const ALARM_EVALUATION_PERIODS = 2;
const COOLDOWN_S = 300;

async function describeAlarm(cloudwatch: CloudWatch, name: string): Promise<MetricAlarm | undefined> {
  return (await cloudwatch.describeAlarms({ AlarmNames: [name], AlarmTypes: ['MetricAlarm'] })).MetricAlarms?.[0];
}

export async function alarmTags(cloudwatch: CloudWatch, name: string): Promise<Seen> {
  const alarm = await describeAlarm(cloudwatch, name);
  if (!alarm) return undefined;
  return (await unlessNotFound(() => cloudwatch.listTagsForResource({ ResourceARN: alarm.AlarmArn! })))?.Tags ?? undefined;
}

/** A policy is ours when its group is (policies take no tags); undefined when either is gone. */
async function policyOwner(autoscaling: AutoScaling, group: string, policy: string): Promise<Seen> {
  let found;
  try {
    found = (await autoscaling.describePolicies({ AutoScalingGroupName: group, PolicyNames: [policy] })).ScalingPolicies ?? [];
  } catch (err) {
    // Auto Scaling answers a group that is gone with a ValidationError: its policies went with it.
    if (errorCode(err) === 'ValidationError') return undefined;
    throw err;
  }
  return found.length ? groupTags(autoscaling, group) : undefined;
}

/** Guide: "Scale Up Policy" adds one node, "Scale Down Policy" removes one (simple scaling). */
async function ensurePolicy(ctx: StepContext, autoscaling: AutoScaling, group: string, direction: Direction): Promise<string> {
  const name = guideNames(ctx.deployment).scalingPolicy(direction);
  // PutScalingPolicy creates or updates: idempotent by name within our group.
  const { PolicyARN } = await autoscaling.putScalingPolicy({
    AutoScalingGroupName: group,
    PolicyName: name,
    PolicyType: 'SimpleScaling',
    AdjustmentType: 'ChangeInCapacity',
    ScalingAdjustment: direction === 'up' ? 1 : -1,
    Cooldown: COOLDOWN_S,
  });
  await ctx.record({ type: POLICY, id: PolicyARN!, name });
  return PolicyARN!;
}

/** The CloudWatch alarm on the group's average CPUUtilization that drives the policy. */
async function ensureAlarm(ctx: StepContext, cloudwatch: CloudWatch, group: string, direction: Direction, policyArn: string) {
  const name = guideNames(ctx.deployment).cpuAlarm(direction);
  // PutMetricAlarm overwrites whatever holds the name: never someone else's alarm.
  const tags = await alarmTags(cloudwatch, name);
  if (tags !== undefined && !('foreign' in tags) && !belongsTo(tags, ctx.deployment)) {
    throw new Error(
      `CloudWatch alarm ${name} exists and is not this deployment's; delete or rename it, or use another --deployment, then resume`,
    );
  }
  const { scaleUpCpu, scaleDownCpu } = ctx.config.autoScaling;
  await cloudwatch.putMetricAlarm({
    AlarmName: name,
    AlarmDescription: `${direction === 'up' ? 'Add' : 'Remove'} one GitLab node when ${group}'s average CPU is ${direction === 'up' ? `>= ${scaleUpCpu}` : `<= ${scaleDownCpu}`}%`,
    Namespace: 'AWS/EC2',
    MetricName: 'CPUUtilization',
    Statistic: 'Average',
    Dimensions: [{ Name: 'AutoScalingGroupName', Value: group }],
    Period: ALARM_PERIOD_S,
    EvaluationPeriods: ALARM_EVALUATION_PERIODS,
    Threshold: direction === 'up' ? scaleUpCpu : scaleDownCpu,
    ComparisonOperator: direction === 'up' ? 'GreaterThanOrEqualToThreshold' : 'LessThanOrEqualToThreshold',
    AlarmActions: [policyArn],
    Tags: ctx.tags(name),
  });
  const alarm = await ctx.retry(`CloudWatch alarm ${name}`, ['not-found'], 60_000, async () => {
    const found = await describeAlarm(cloudwatch, name);
    if (!found) throw Object.assign(new Error(`alarm ${name} not found`), { name: 'ResourceNotFound' });
    return found;
  });
  await ctx.record({ type: ALARM, id: alarm.AlarmArn!, name });
  return alarm.AlarmArn!;
}

/**
 * Guide: after the group, "a scale up and down policy in CloudWatch": +1 node at >= 60 % average
 * CPU, -1 at <= 45 % (the answers' thresholds), each policy driven by its alarm.
 */
export const scalingPolicies = defineStep({
  id: 'scaling-policies',
  title: 'Scaling policies and CPU alarms',
  needs: [autoScalingGroup],
  // A policy and an alarm each way.
  minutes: AWS_MINUTES.scalingPolicyOrAlarm.create * 2 * DIRECTIONS.length,
  outputs: z.object({
    policies: z.object({ up: z.string(), down: z.string() }),
    alarms: z.object({ up: z.string(), down: z.string() }),
  }),
  resources: (config) => {
    const names = guideNames(config.deployment);
    return DIRECTIONS.flatMap((d) => [
      { type: POLICY, name: names.scalingPolicy(d) },
      { type: ALARM, name: names.cpuAlarm(d) },
    ]);
  },

  async create(ctx) {
    const autoscaling = await ctx.aws.autoscaling();
    const cloudwatch = await ctx.aws.cloudwatch();
    const group = ctx.output('auto-scaling-group').name;
    const policies = { up: '', down: '' };
    const alarms = { up: '', down: '' };
    for (const direction of DIRECTIONS) {
      policies[direction] = await ensurePolicy(ctx, autoscaling, group, direction);
      alarms[direction] = await ensureAlarm(ctx, cloudwatch, group, direction, policies[direction]);
    }
    return { policies, alarms };
  },

  async verify(ctx, outputs) {
    const autoscaling = await ctx.aws.autoscaling();
    const cloudwatch = await ctx.aws.cloudwatch();
    const group = ctx.output('auto-scaling-group').name;
    const names = guideNames(ctx.deployment);
    const policies = (await autoscaling.describePolicies({ AutoScalingGroupName: group })).ScalingPolicies ?? [];
    for (const d of DIRECTIONS) {
      if (!policies.some((p) => p.PolicyARN === outputs.policies[d])) return false;
      const alarm = await describeAlarm(cloudwatch, names.cpuAlarm(d));
      if (!alarm?.AlarmActions?.includes(outputs.policies[d])) return false;
    }
    return true;
  },

  async discover(ctx) {
    const autoscaling = await ctx.aws.autoscaling();
    const cloudwatch = await ctx.aws.cloudwatch();
    const names = guideNames(ctx.deployment);
    const found: ResourceRef[] = [];
    for (const d of DIRECTIONS) {
      const alarm = await describeAlarm(cloudwatch, names.cpuAlarm(d));
      const tags = await alarmTags(cloudwatch, names.cpuAlarm(d));
      if (alarm && Array.isArray(tags) && belongsTo(tags, ctx.deployment))
        found.push({ type: ALARM, id: alarm.AlarmArn!, name: alarm.AlarmName! });
    }
    const groupTagsNow = await groupTags(autoscaling, names.autoScalingGroup);
    if (Array.isArray(groupTagsNow) && belongsTo(groupTagsNow, ctx.deployment)) {
      const policies = (await autoscaling.describePolicies({ AutoScalingGroupName: names.autoScalingGroup })).ScalingPolicies ?? [];
      for (const p of policies) {
        if (DIRECTIONS.some((d) => names.scalingPolicy(d) === p.PolicyName))
          found.push({ type: POLICY, id: p.PolicyARN!, name: p.PolicyName! });
      }
    }
    return found;
  },

  async destroy(ctx, resources) {
    const autoscaling = await ctx.aws.autoscaling();
    const cloudwatch = await ctx.aws.cloudwatch();
    const owner = ownership(ctx);
    const group = guideNames(ctx.deployment).autoScalingGroup;
    // The alarms first: an alarm left behind would name a policy that no longer exists.
    for (const ref of resources.filter((r) => r.type === ALARM)) {
      const name = ref.name ?? ref.id.split(':alarm:')[1]!;
      if (!(await owner.ours(ref, () => alarmTags(cloudwatch, name)))) continue;
      await cloudwatch.deleteAlarms({ AlarmNames: [name] });
      await ctx.forget(ref);
    }
    for (const ref of resources.filter((r) => r.type === POLICY)) {
      const name = ref.name ?? ref.id.split(':policyName/')[1]!;
      if (!(await owner.ours(ref, () => policyOwner(autoscaling, group, name)))) continue;
      try {
        await autoscaling.deletePolicy({ AutoScalingGroupName: group, PolicyName: name });
      } catch (err) {
        // Auto Scaling answers a group or policy that is gone with a ValidationError.
        if (errorCode(err) !== 'ValidationError') throw err;
      }
      await ctx.forget(ref);
    }
    return owner.result();
  },
});
