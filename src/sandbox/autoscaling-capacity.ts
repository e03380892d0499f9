import type { Instance } from '@aws-sdk/client-auto-scaling';
import { AWS_MINUTES, MINUTE } from '../aws/durations.js';
import { awsError, type OperationContext } from './core.js';
import { groupCompute as compute } from './autoscaling-compute.js';
import type { PolicyRecord } from './autoscaling-policies.js';

/**
 * EC2 Auto Scaling: groups that keep their desired capacity of instances launched from a launch
 * template, with ELB health checks. The sandbox runs no background process, so a group is brought up to date, event by event
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
  /** When EC2 reports it running: Pending until then, and registered in the target groups then. */
  inServiceAt: number;
  registered?: boolean;
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

/** Auto Scaling keeps six weeks of activities; the sandbox keeps the latest ones. */
const KEPT_ACTIVITIES = 100;
const HEALTH_CHECK_INTERVAL = MINUTE;

export function validation(message: string): Error {
  return awsError('ValidationError', message);
}

export function key(region: string, name: string): string {
  return `${region}:${name}`;
}

export function slice(ctx: OperationContext): AutoScalingWorld {
  return ctx.world.autoscaling;
}

export function gone(group: GroupRecord, now: number): boolean {
  return group.goneAt !== undefined && now >= group.goneAt;
}

/** A group AWS still describes, brought up to date; a group whose deletion finished is forgotten. */
export function groupNamed(ctx: OperationContext, name: string | undefined): GroupRecord | undefined {
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

export function existingGroup(ctx: OperationContext, name: string | undefined): GroupRecord {
  const group = groupNamed(ctx, name);
  if (!group) throw validation(`AutoScalingGroup name not found - AutoScalingGroup ${name} not found`);
  return group;
}

export function liveGroups(ctx: OperationContext): GroupRecord[] {
  return Object.values(slice(ctx).groups)
    .filter((g) => g.region === ctx.region)
    .flatMap((g) => groupNamed(ctx, g.name) ?? [])
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** A deleted group takes its policies with it. */
export function forget(ctx: OperationContext, group: GroupRecord): void {
  delete slice(ctx).groups[key(group.region, group.name)];
  for (const policy of Object.values(slice(ctx).policies)) {
    if (policy.region === group.region && policy.group === group.name) delete slice(ctx).policies[policy.arn];
  }
}

/** The operation's context as it was at an earlier moment (for what the group did then). */
export function at(ctx: OperationContext, time: number): OperationContext {
  return { ...ctx, now: time };
}

export function lifecycle(m: MemberRecord, now: number): Instance['LifecycleState'] {
  if (m.terminatingAt !== undefined) return 'Terminating';
  return now >= m.inServiceAt ? 'InService' : 'Pending';
}

/** Members that count toward the desired capacity (not on their way out). */
export function active(group: GroupRecord): MemberRecord[] {
  return group.members.filter((m) => m.terminatingAt === undefined);
}

function record(group: GroupRecord, time: number, description: string, cause: string, minutes: number, failed = false): void {
  group.activitySeq += 1;
  const id = `${group.activitySeq.toString(16).padStart(8, '0')}-${group.arn.slice(-4)}-sandbox-activity`;
  group.activities.push({ id, description, cause, at: time, endAt: time + minutes * MINUTE, failed });
  if (group.activities.length > KEPT_ACTIVITIES) group.activities.splice(0, group.activities.length - KEPT_ACTIVITIES);
}

export function stamp(time: number): string {
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

export function retire(ctx: OperationContext, group: GroupRecord, member: MemberRecord, time: number, cause: string): void {
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
export function advance(ctx: OperationContext, group: GroupRecord): void {
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
export function settle(ctx: OperationContext, group: GroupRecord, time: number): void {
  const then = at(ctx, time);
  group.members = group.members.filter((m) => m.terminatingAt === undefined || !compute.terminated(then, m.id));
  if (group.goneAt !== undefined) return;
  for (const member of active(group)) {
    if (member.registered || time < member.inServiceAt) continue;
    member.registered = true;
    // One that stopped running before it entered service is not registered: its health check retires it.
    if (!compute.running(then, member.id)) continue;
    for (const arn of group.targetGroupArns) compute.register(at(ctx, member.inServiceAt), arn, member.id);
  }
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
    if (time < m.inServiceAt) return m.inServiceAt;
    if (time < m.checkAt) return m.checkAt;
    return m.checkAt + (Math.floor((time - m.checkAt) / HEALTH_CHECK_INTERVAL) + 1) * HEALTH_CHECK_INTERVAL;
  });
  const later = times.filter((t) => t > time);
  return later.length ? Math.min(...later) : undefined;
}
