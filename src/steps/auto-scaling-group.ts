import { z } from 'zod';
import type { AutoScaling, AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import type { EC2 } from '@aws-sdk/client-ec2';
import type { ElasticLoadBalancingV2, TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import { AWS_MINUTES } from '../aws/durations.js';
import { errorCode } from '../aws/errors.js';
import { WaitTimeout, paceFor } from '../aws/poll.js';
import { TAG_NAME, belongsTo } from '../aws/tags.js';
import { defineStep, type PlannedResource, type StepContext } from '../engine/step.js';
import { BOOT_FAILED } from './base-instance.js';
import { bastionHosts } from './bastion-hosts.js';
import { discoverOurs, ec2Seen, patience, whenTerminated, whenVisible } from './ec2-common.js';
import { INSTANCE, consoleTail, sshThroughBastion } from './instances.js';
import { launchTemplate } from './launch-template.js';
import { loadBalancer } from './load-balancer.js';
import { guideNames } from './names.js';
import { ownership, type Seen } from './ownership.js';
import { subnets } from './subnets.js';

const GROUP = 'AWS::AutoScaling::AutoScalingGroup';

const node = z.object({ instanceId: z.string(), privateIp: z.string(), availabilityZone: z.string() });

export async function describeGroup(autoscaling: AutoScaling, name: string): Promise<AutoScalingGroup | undefined> {
  return (await autoscaling.describeAutoScalingGroups({ AutoScalingGroupNames: [name] })).AutoScalingGroups?.[0];
}

/** A group's tags as Auto Scaling has them now (for ownership); undefined when it is gone. */
export async function groupTags(autoscaling: AutoScaling, name: string): Promise<Seen> {
  return (await describeGroup(autoscaling, name))?.Tags ?? undefined;
}

const deleting = (group: AutoScalingGroup | undefined) => group?.Status === 'Delete in progress';

/** Our tags on the group; the deployment and step go on to every instance it launches, the Name does not. */
function groupTagList(ctx: StepContext, name: string) {
  return ctx.tags(name).map((t) => ({
    ...t,
    ResourceId: name,
    ResourceType: 'auto-scaling-group',
    PropagateAtLaunch: t.Key !== TAG_NAME,
  }));
}

async function gone(ctx: StepContext, autoscaling: AutoScaling, name: string): Promise<void> {
  await ctx.poll(`Auto Scaling group ${name} to be deleted`, paceFor(AWS_MINUTES.autoScalingGroup.delete), async () => {
    const group = await describeGroup(autoscaling, name);
    return group ? { done: false, seen: group.Status ?? `${group.Instances?.length ?? 0} instances` } : { done: true, value: undefined };
  });
}

interface Placement {
  templateId: string;
  version: string;
  subnetIds: readonly string[];
  targetGroupArns: readonly string[];
}

async function ensureGroup(ctx: StepContext, autoscaling: AutoScaling, placement: Placement): Promise<AutoScalingGroup> {
  const name = guideNames(ctx.deployment).autoScalingGroup;
  const refuse = () => {
    throw new Error(`Auto Scaling group ${name} exists and is not this deployment's; delete it, or use another --deployment, then resume`);
  };
  let group = await describeGroup(autoscaling, name);
  if (group && !belongsTo(group.Tags, ctx.deployment)) refuse();
  if (deleting(group)) {
    // A teardown that stopped midway: the name is free once it is gone.
    await gone(ctx, autoscaling, name);
    group = undefined;
  }
  if (group) {
    // A new launch template version (a new image after a resume): the group launches from it from now on.
    if (group.LaunchTemplate?.Version !== placement.version || group.LaunchTemplate?.LaunchTemplateId !== placement.templateId) {
      ctx.progress(`Auto Scaling group ${name}: launching from launch template version ${placement.version} from now on`);
      await autoscaling.updateAutoScalingGroup({
        AutoScalingGroupName: name,
        LaunchTemplate: { LaunchTemplateId: placement.templateId, Version: placement.version },
      });
    }
    return group;
  }
  const sizes = ctx.config.autoScaling;
  try {
    await autoscaling.createAutoScalingGroup({
      AutoScalingGroupName: name,
      LaunchTemplate: { LaunchTemplateId: placement.templateId, Version: placement.version },
      MinSize: sizes.min,
      DesiredCapacity: sizes.desired,
      MaxSize: sizes.max,
      VPCZoneIdentifier: placement.subnetIds.join(','),
      TargetGroupARNs: [...placement.targetGroupArns],
      HealthCheckType: 'ELB',
      HealthCheckGracePeriod: sizes.healthCheckGracePeriod,
      Tags: groupTagList(ctx, name),
    });
  } catch (err) {
    // Made by an earlier attempt whose answer was lost: adopted once its tags say ours.
    if (!errorCode(err).startsWith('AlreadyExists')) throw err;
  }
  const made = await ctx.retry(`Auto Scaling group ${name}`, ['not-found'], patience(0), async () => {
    const found = await describeGroup(autoscaling, name);
    if (!found) throw Object.assign(new Error(`Auto Scaling group ${name} not found`), { name: 'NotFound' });
    return found;
  });
  return belongsTo(made.Tags, ctx.deployment) ? made : refuse();
}

/** An instance of the group the way the operator needs to read it when it is not healthy yet. */
function describeNode(id: string, lifecycle: string | undefined, target: TargetHealthDescription | undefined): string {
  const health = target?.TargetHealth;
  const verdict = health ? `${health.State}${health.Reason ? ` (${health.Reason}: ${health.Description ?? ''})` : ''}` : 'not registered';
  return `${id} ${lifecycle ?? 'unknown'}, target ${verdict}`;
}

/** Waits until `desired` instances are InService and healthy in the HTTP target group. */
async function healthy(
  ctx: StepContext,
  clients: { autoscaling: AutoScaling; elb: ElasticLoadBalancingV2 },
  name: string,
  httpTargetGroup: string,
  bastionIp: string | undefined,
) {
  const { autoscaling, elb } = clients;
  const ec2 = await ctx.aws.ec2();
  const desired = ctx.config.autoScaling.desired;
  const what = `${desired} instances of ${name} to be InService and healthy in the HTTP target group`;
  // Every node seen while waiting, oldest first: the group replaces unhealthy ones, and a fresh
  // replacement has no console yet while the one it replaced says why.
  let last: WaitedFor = { targets: [], nodes: [] };
  try {
    return await ctx.poll(what, paceFor(AWS_MINUTES.autoScalingGroup.create), async () => {
      const group = await describeGroup(autoscaling, name);
      const targets = (await elb.describeTargetHealth({ TargetGroupArn: httpTargetGroup })).TargetHealthDescriptions ?? [];
      const nodes = [...last.nodes, ...(group?.Instances ?? []).map((i) => i.InstanceId!).filter((id) => !last.nodes.includes(id))];
      last = { ...(group ? { group } : {}), targets, nodes };
      const target = (id: string) => targets.find((t) => t.Target?.Id === id);
      const instances = group?.Instances ?? [];
      const ready = instances.filter((i) => i.LifecycleState === 'InService' && target(i.InstanceId!)?.TargetHealth?.State === 'healthy');
      if (ready.length >= desired) return { done: true, value: ready.map((i) => i.InstanceId!) };
      // A node whose boot script stopped on an error will not heal, and every node the group
      // launches in its place runs the same script: waiting longer only repeats it.
      for (const i of instances.filter((n) => target(n.InstanceId!)?.TargetHealth?.State === 'unhealthy')) {
        if ((await consoleTail(ec2, i.InstanceId!)).some((l) => l.includes(BOOT_FAILED))) {
          throw new BootFailed(
            `gave up waiting for ${what}: the boot script of ${i.InstanceId} stopped on an error ('${BOOT_FAILED}'); the nodes the group launches from this template would all do the same`,
          );
        }
      }
      const others = instances
        .filter((i) => !ready.includes(i))
        .map((i) => describeNode(i.InstanceId!, i.LifecycleState, target(i.InstanceId!)));
      return { done: false, seen: [`${ready.length} of ${desired} healthy`, ...others].join('; ') };
    });
  } catch (err) {
    if (!(err instanceof WaitTimeout || err instanceof BootFailed)) throw err;
    throw new Error(`${err.message}\n${await whyUnhealthy(ctx, last, bastionIp)}`);
  }
}

class BootFailed extends Error {
  override name = 'BootFailed';
}

interface WaitedFor {
  group?: AutoScalingGroup;
  targets: TargetHealthDescription[];
  nodes: string[];
}

/** The console of the newest node the group no longer has that printed anything. */
async function lastWords(ec2: EC2, nodes: string[], group: AutoScalingGroup | undefined) {
  const current = new Set((group?.Instances ?? []).map((i) => i.InstanceId!));
  for (const id of nodes.filter((n) => !current.has(n)).reverse()) {
    const tail = await consoleTail(ec2, id);
    if (tail.length) return { id, tail };
  }
  return undefined;
}

/** For each instance not healthy: its verdict, the tail of its console, and how to reach it. */
async function whyUnhealthy(ctx: StepContext, { group, targets, nodes }: WaitedFor, bastionIp: string | undefined): Promise<string> {
  const ec2 = await ctx.aws.ec2();
  const lines: string[] = [];
  for (const i of group?.Instances ?? []) {
    const target = targets.find((t) => t.Target?.Id === i.InstanceId);
    if (i.LifecycleState === 'InService' && target?.TargetHealth?.State === 'healthy') continue;
    // A node the group launched a moment ago may not be visible to EC2's API yet: its console neither.
    const ip = (await whenVisible(ctx, `instance ${i.InstanceId}`, () => ec2.describeInstances({ InstanceIds: [i.InstanceId!] })))
      .Reservations?.[0]?.Instances?.[0]?.PrivateIpAddress;
    const own = await consoleTail(ec2, i.InstanceId!);
    const replaced = own.length ? undefined : await lastWords(ec2, nodes, group);
    lines.push(
      `${describeNode(i.InstanceId!, i.LifecycleState, target)}; ` +
        (own.length || !replaced ? 'its console ends:' : `no console yet; ${replaced.id}, a node the group replaced, ended:`),
    );
    const tail = own.length ? own : (replaced?.tail ?? ['(no console output yet)']);
    lines.push(...tail.map((l) => `  ${l}`));
    if (ip && bastionIp) lines.push(`  investigate: ${sshThroughBastion(bastionIp, ip)}`);
  }
  return lines.join('\n');
}

/**
 * Guide: "Create an auto scaling group" `gitlab-auto-scaling-group`: the launch template in both
 * private subnets, attached to both target groups with ELB health checks, the guide's sizes; the
 * install goes on once the desired nodes answer /-/readiness behind the load balancer.
 */
export const autoScalingGroup = defineStep({
  id: 'auto-scaling-group',
  title: 'Auto Scaling group',
  needs: [launchTemplate, subnets, loadBalancer, bastionHosts],
  minutes: AWS_MINUTES.autoScalingGroup.create,
  outputs: z.object({
    name: z.string(),
    arn: z.string(),
    launchTemplateVersion: z.string(),
    /** The nodes healthy when the install ended (the group replaces them as it sees fit). */
    instances: z.array(node),
  }),
  // The nodes it launches carry our tags (the launch template's and the group's).
  resources: (config): PlannedResource[] => {
    const names = guideNames(config.deployment);
    const nodes = Array.from({ length: config.autoScaling.desired }, () => ({ type: INSTANCE.type, name: names.gitlabNode }));
    return [{ type: GROUP, name: names.autoScalingGroup }, ...nodes];
  },

  async create(ctx) {
    const autoscaling = await ctx.aws.autoscaling();
    const elb = await ctx.aws.elbv2();
    const ec2 = await ctx.aws.ec2();
    const template = ctx.output('launch-template');
    const { targetGroupArns } = ctx.output('load-balancer');
    const group = await ensureGroup(ctx, autoscaling, {
      templateId: template.launchTemplateId,
      version: template.version,
      subnetIds: ctx.output('subnets').privateSubnetIds,
      targetGroupArns: [targetGroupArns.http, targetGroupArns.ssh],
    });
    const name = group.AutoScalingGroupName!;
    await ctx.record({ type: GROUP, id: name, name });
    const bastionIp = ctx.output('bastion-hosts').hosts[0]?.publicIp;
    const ready = await healthy(ctx, { autoscaling, elb }, name, targetGroupArns.http, bastionIp);
    const described = (await ec2.describeInstances({ Filters: [{ Name: 'instance-id', Values: ready }] })).Reservations ?? [];
    const instances = described
      .flatMap((r) => r.Instances ?? [])
      .map((i) => ({
        instanceId: i.InstanceId!,
        privateIp: i.PrivateIpAddress ?? '',
        availabilityZone: i.Placement?.AvailabilityZone ?? '',
      }));
    // The nodes serving now are recorded like any resource; ones the group has since replaced are
    // gone (the group keeps its own count, so these records are a view, not the source).
    const nodeName = guideNames(ctx.deployment).gitlabNode;
    for (const old of ctx.recorded(INSTANCE.type)) if (!ready.includes(old.id)) await ctx.forget(old);
    for (const node of instances) await ctx.record({ type: INSTANCE.type, id: node.instanceId, name: nodeName });
    return { name, arn: group.AutoScalingGroupARN!, launchTemplateVersion: template.version, instances };
  },

  async verify(ctx, outputs) {
    const group = await describeGroup(await ctx.aws.autoscaling(), outputs.name);
    return Boolean(group) && !deleting(group) && belongsTo(group?.Tags, ctx.deployment);
  },

  async discover(ctx) {
    const name = guideNames(ctx.deployment).autoScalingGroup;
    const group = await describeGroup(await ctx.aws.autoscaling(), name);
    const nodes = await discoverOurs(INSTANCE)(ctx);
    return [...(group && belongsTo(group.Tags, ctx.deployment) ? [{ type: GROUP, id: name, name }] : []), ...nodes];
  },

  async destroy(ctx, resources) {
    const autoscaling = await ctx.aws.autoscaling();
    const ec2 = await ctx.aws.ec2();
    const owner = ownership(ctx);
    for (const ref of resources.filter((r) => r.type === GROUP)) {
      if (!(await owner.ours(ref, () => groupTags(autoscaling, ref.id)))) continue;
      const group = await describeGroup(autoscaling, ref.id);
      const launched = (group?.Instances ?? []).map((i) => i.InstanceId!);
      if (group && !deleting(group)) {
        // ForceDelete terminates its instances with it; a scaling activity in progress delays it.
        await ctx.retry(
          `Auto Scaling group ${ref.id} to be deletable`,
          ['dependency'],
          patience(AWS_MINUTES.autoScalingGroup.delete),
          async () => {
            try {
              await autoscaling.deleteAutoScalingGroup({ AutoScalingGroupName: ref.id, ForceDelete: true });
            } catch (err) {
              // Auto Scaling says "not found" as a ValidationError: gone already is success.
              if (errorCode(err) !== 'ValidationError') throw err;
            }
          },
        );
      }
      await gone(ctx, autoscaling, ref.id);
      await whenTerminated(ctx, launched);
      await ctx.forget(ref);
    }
    // Nodes the group launched that outlived it (a group deleted by hand without ForceDelete's wait).
    const nodes = resources.filter((r) => r.type === INSTANCE.type);
    const left: string[] = [];
    for (const ref of nodes) {
      if (!(await owner.ours(ref, () => ec2Seen(ctx, INSTANCE, ref.id)))) continue;
      await ec2.terminateInstances({ InstanceIds: [ref.id] });
      left.push(ref.id);
    }
    await whenTerminated(ctx, left);
    for (const ref of nodes.filter((r) => left.includes(r.id))) await ctx.forget(ref);
    return owner.result();
  },
});
