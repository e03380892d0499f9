import type { AutoScaling, ScalingPolicy, StepAdjustment } from '@aws-sdk/client-auto-scaling';
import type { OperationContext, SdkOperations } from './core.js';
import { existingGroup, slice, validation, type GroupRecord } from './autoscaling-capacity.js';

/**
 * Auto Scaling's simple and step scaling policies, the actions CloudWatch alarms call. A policy
 * belongs to its group and goes with it (autoscaling-capacity.ts forgets both together).
 */
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

export const policyOperations: SdkOperations<AutoScaling> = {
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
