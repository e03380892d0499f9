import type { CloudWatch, MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { AWS_MINUTES } from '../aws/durations.js';
import { TAG_NAME } from '../aws/tags.js';
import {
  awsError,
  sandboxResource,
  tagList,
  tagsFromList,
  type Latency,
  type OperationContext,
  type SandboxService,
  type SdkOperations,
} from './core.js';
import { scalingPolicyExists } from './autoscaling-policies.js';

/**
 * CloudWatch metric alarms, as an install makes them: on one metric with a statistic and a
 * threshold, calling Auto Scaling policies. Nothing in a sandbox produces load, so an alarm goes
 * from INSUFFICIENT_DATA to OK once its first evaluation window has passed, and stays there.
 */
export interface CloudWatchWorld {
  /** By `${region}:${name}`. */
  alarms: Record<string, AlarmRecord>;
}

export interface AlarmRecord {
  name: string;
  region: string;
  arn: string;
  description?: string;
  actionsEnabled: boolean;
  alarmActions: string[];
  okActions: string[];
  insufficientDataActions: string[];
  metricName: string;
  namespace: string;
  statistic: string;
  dimensions: Array<{ Name: string; Value: string }>;
  period: number;
  evaluationPeriods: number;
  datapointsToAlarm?: number;
  threshold: number;
  comparisonOperator: string;
  treatMissingData?: string;
  unit?: string;
  /** When the configuration was last written: the state is evaluated afresh from then. */
  updatedAt: number;
  tags: Record<string, string>;
}

const STATISTICS = ['SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum'];
const OPERATORS = [
  'GreaterThanOrEqualToThreshold',
  'GreaterThanThreshold',
  'LessThanThreshold',
  'LessThanOrEqualToThreshold',
  'LessThanLowerOrGreaterThanUpperThreshold',
  'LessThanLowerThreshold',
  'GreaterThanUpperThreshold',
];
const MISSING_DATA = ['breaching', 'notBreaching', 'ignore', 'missing'];
/** One alarm action of each kind the sandbox knows: an Auto Scaling policy, an SNS topic, an EC2 action. */
const POLICY_ARN = /^arn:aws:autoscaling:([^:]+):(\d{12}):scalingPolicy:/;
const OTHER_ACTION = /^arn:aws:(sns:[^:]+:\d{12}:.+|automate:[^:]+:ec2:(stop|terminate|reboot|recover))$/;

function validation(message: string): Error {
  return awsError('ValidationError', message);
}

function invalidValue(message: string): Error {
  return awsError('InvalidParameterValueException', message);
}

function key(region: string, name: string): string {
  return `${region}:${name}`;
}

function alarms(ctx: OperationContext): AlarmRecord[] {
  return Object.values(ctx.world.cloudwatch.alarms)
    .filter((a) => a.region === ctx.region)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** When the first evaluation can be made: after `EvaluationPeriods` periods of (missing) data. */
function evaluatedAt(a: AlarmRecord): number {
  return a.updatedAt + a.period * a.evaluationPeriods * 1000;
}

function alarmState(a: AlarmRecord, now: number): { value: 'OK' | 'INSUFFICIENT_DATA'; since: number; reason: string } {
  if (now < evaluatedAt(a)) return { value: 'INSUFFICIENT_DATA', since: a.updatedAt, reason: 'Unchecked: Initial alarm creation' };
  return {
    value: 'OK',
    since: evaluatedAt(a),
    reason: `Threshold Crossed: no datapoint was ${a.comparisonOperator.replace(/Threshold$/, '')} the threshold (${a.threshold}).`,
  };
}

function alarmView(ctx: OperationContext, a: AlarmRecord): MetricAlarm {
  const current = alarmState(a, ctx.now);
  return {
    AlarmName: a.name,
    AlarmArn: a.arn,
    AlarmDescription: a.description,
    AlarmConfigurationUpdatedTimestamp: new Date(a.updatedAt),
    ActionsEnabled: a.actionsEnabled,
    OKActions: a.okActions,
    AlarmActions: a.alarmActions,
    InsufficientDataActions: a.insufficientDataActions,
    StateValue: current.value,
    StateReason: current.reason,
    StateUpdatedTimestamp: new Date(current.since),
    StateTransitionedTimestamp: new Date(current.since),
    MetricName: a.metricName,
    Namespace: a.namespace,
    Statistic: a.statistic as MetricAlarm['Statistic'],
    Dimensions: a.dimensions,
    Period: a.period,
    Unit: a.unit as MetricAlarm['Unit'],
    EvaluationPeriods: a.evaluationPeriods,
    DatapointsToAlarm: a.datapointsToAlarm,
    Threshold: a.threshold,
    ComparisonOperator: a.comparisonOperator as MetricAlarm['ComparisonOperator'],
    TreatMissingData: a.treatMissingData,
  };
}

/** Every action must be one CloudWatch can take; a scaling policy must exist in the alarm's region. */
function checkActions(ctx: OperationContext, actions: string[] | undefined): string[] {
  const list = actions ?? [];
  if (list.length > 5) throw validation('The collection AlarmActions must not have a size greater than 5.');
  for (const action of list) {
    const policy = POLICY_ARN.exec(action);
    if (policy) {
      if (policy[1] !== ctx.region || policy[2] !== ctx.world.accountId || !scalingPolicyExists(ctx, action)) {
        throw validation(`Invalid autoscaling policy ARN: the scaling policy ${action} does not exist.`);
      }
    } else if (!OTHER_ACTION.test(action)) {
      throw validation(`Invalid arn syntax: ${action}`);
    }
  }
  return list;
}

function checkAlarm(input: {
  MetricName?: string;
  Namespace?: string;
  Statistic?: string;
  Period?: number;
  EvaluationPeriods?: number;
  DatapointsToAlarm?: number;
  Threshold?: number;
  ComparisonOperator?: string;
  TreatMissingData?: string;
  Metrics?: unknown[];
}): void {
  if (input.Metrics?.length) throw validation('The sandbox models alarms on one metric (MetricName and Namespace), not metric math.');
  if (!input.MetricName) throw validation('The parameter MetricName is required.');
  if (!input.Namespace) throw validation('The parameter Namespace is required.');
  if (!input.Statistic || !STATISTICS.includes(input.Statistic)) {
    throw invalidValue(`The parameter Statistic must be one of ${STATISTICS.join(', ')}.`);
  }
  const period = input.Period;
  if (period === undefined || !Number.isInteger(period) || (period < 60 ? ![10, 30].includes(period) : period % 60 !== 0)) {
    throw validation('The parameter Period must be 10, 30 or a multiple of 60.');
  }
  const periods = input.EvaluationPeriods;
  if (periods === undefined || !Number.isInteger(periods) || periods < 1)
    throw validation('The parameter EvaluationPeriods must be 1 or more.');
  if (period * periods > 7 * 24 * 3600)
    throw validation('Metrics cannot be checked across more than a week (Period times EvaluationPeriods).');
  if (input.DatapointsToAlarm !== undefined && (input.DatapointsToAlarm < 1 || input.DatapointsToAlarm > periods)) {
    throw validation('DatapointsToAlarm must be between 1 and EvaluationPeriods.');
  }
  if (typeof input.Threshold !== 'number' || !Number.isFinite(input.Threshold)) throw validation('The parameter Threshold is required.');
  if (!input.ComparisonOperator || !OPERATORS.includes(input.ComparisonOperator)) {
    throw validation(`The parameter ComparisonOperator must be one of ${OPERATORS.join(', ')}.`);
  }
  if (input.TreatMissingData !== undefined && !MISSING_DATA.includes(input.TreatMissingData)) {
    throw validation(`The parameter TreatMissingData must be one of ${MISSING_DATA.join(', ')}.`);
  }
}

/** The alarm a CloudWatch ARN names, or ResourceNotFound. */
function alarmByArn(ctx: OperationContext, arn: string | undefined): AlarmRecord {
  const found = alarms(ctx).find((a) => a.arn === arn);
  if (!found) throw awsError('ResourceNotFoundException', `The alarm ${arn} does not exist.`, 404);
  return found;
}

const operations: SdkOperations<CloudWatch> = {
  PutMetricAlarm(ctx, input) {
    const name = input.AlarmName ?? '';
    if (!name || name.length > 255) throw validation('The parameter AlarmName must be 1 to 255 characters.');
    checkAlarm(input);
    const existing = ctx.world.cloudwatch.alarms[key(ctx.region, name)];
    const alarm: AlarmRecord = {
      name,
      region: ctx.region,
      arn: `arn:aws:cloudwatch:${ctx.region}:${ctx.world.accountId}:alarm:${name}`,
      description: input.AlarmDescription,
      actionsEnabled: input.ActionsEnabled ?? true,
      alarmActions: checkActions(ctx, input.AlarmActions),
      okActions: checkActions(ctx, input.OKActions),
      insufficientDataActions: checkActions(ctx, input.InsufficientDataActions),
      metricName: input.MetricName!,
      namespace: input.Namespace!,
      statistic: input.Statistic!,
      dimensions: (input.Dimensions ?? []).map((d) => ({ Name: d.Name ?? '', Value: d.Value ?? '' })),
      period: input.Period!,
      evaluationPeriods: input.EvaluationPeriods!,
      datapointsToAlarm: input.DatapointsToAlarm,
      threshold: input.Threshold!,
      comparisonOperator: input.ComparisonOperator!,
      treatMissingData: input.TreatMissingData,
      unit: input.Unit,
      updatedAt: ctx.now,
      // PutMetricAlarm on an existing alarm keeps its tags (Tags apply at creation only).
      tags: existing ? existing.tags : tagsFromList(input.Tags),
    };
    ctx.world.cloudwatch.alarms[key(ctx.region, name)] = alarm;
    return {};
  },

  DescribeAlarms(ctx, input) {
    if (input.AlarmNames?.length && input.AlarmNamePrefix) {
      throw awsError('InvalidParameterCombinationException', 'AlarmNames and AlarmNamePrefix cannot be given together.');
    }
    const names = input.AlarmNames?.length ? new Set(input.AlarmNames) : undefined;
    const found = alarms(ctx).filter(
      (a) =>
        (!names || names.has(a.name)) &&
        (!input.AlarmNamePrefix || a.name.startsWith(input.AlarmNamePrefix)) &&
        (!input.ActionPrefix || a.alarmActions.some((action) => action.startsWith(input.ActionPrefix!))) &&
        (!input.StateValue || alarmState(a, ctx.now).value === input.StateValue),
    );
    const wantsMetric = !input.AlarmTypes?.length || input.AlarmTypes.includes('MetricAlarm');
    return { MetricAlarms: wantsMetric ? found.map((a) => alarmView(ctx, a)) : [], CompositeAlarms: [] };
  },

  DeleteAlarms(ctx, input) {
    const missing = (input.AlarmNames ?? []).filter((name) => !ctx.world.cloudwatch.alarms[key(ctx.region, name)]);
    // AWS deletes none of the list when one is missing.
    if (missing.length) throw awsError('ResourceNotFound', `The alarm(s) ${missing.join(', ')} do not exist.`, 404);
    for (const name of input.AlarmNames ?? []) delete ctx.world.cloudwatch.alarms[key(ctx.region, name)];
    return {};
  },

  ListTagsForResource(ctx, input) {
    return { Tags: tagList(alarmByArn(ctx, input.ResourceARN).tags) };
  },

  TagResource(ctx, input) {
    const alarm = alarmByArn(ctx, input.ResourceARN);
    Object.assign(alarm.tags, tagsFromList(input.Tags));
    return {};
  },

  UntagResource(ctx, input) {
    const alarm = alarmByArn(ctx, input.ResourceARN);
    for (const k of input.TagKeys ?? []) delete alarm.tags[k];
    return {};
  },
};

/** Every alarm of the region with its ARN, for the Tagging API's index. */
export function cloudwatchTagged(ctx: OperationContext): Array<{ arn: string; type: string; tags: Record<string, string> }> {
  return alarms(ctx).map((a) => ({ arn: a.arn, type: 'cloudwatch:alarm', tags: a.tags }));
}

export const cloudwatchLatency: Latency<'cloudwatch'> = {
  PutMetricAlarm: AWS_MINUTES.scalingPolicyOrAlarm.create,
  DeleteAlarms: AWS_MINUTES.scalingPolicyOrAlarm.delete,
};

export const cloudwatchService: SandboxService<CloudWatchWorld, 'cloudwatch'> = {
  name: 'cloudwatch',
  operations,
  latency: cloudwatchLatency,
  empty: () => ({ alarms: {} }),
  inventory: (world) =>
    Object.values(world.cloudwatch.alarms).map((a) => sandboxResource('AWS::CloudWatch::Alarm', a.arn, a.tags[TAG_NAME] ?? a.name, a.tags)),
};
