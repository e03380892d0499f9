import { z } from 'zod';
// The lines the scripts print once fit to be imaged, and when a command failed (its ERR trap): a
// failed boot will not get healthy by waiting, so the wait ends there rather than at its timeout.
import { BOOT_FAILED, READY_FOR_IMAGING } from '../gitlab/user-data.js';
export { BOOT_FAILED, READY_FOR_IMAGING };
import type { EC2 } from '@aws-sdk/client-ec2';
import type { ElasticLoadBalancingV2 } from '@aws-sdk/client-elastic-load-balancing-v2';
import { AWS_MINUTES } from '../aws/durations.js';
import { WaitTimeout, paceFor } from '../aws/poll.js';
import { TAG_DEPLOYMENT, belongsTo } from '../aws/tags.js';
import { defineStep, type StepContext } from '../engine/step.js';
import { factsFromSteps, railsNodeInput } from '../gitlab/node-inputs.js';
import { renderRailsUserData } from '../gitlab/user-data.js';
import { errorMessage } from '../errors.js';
import { bastionHosts } from './bastion-hosts.js';
import { discoverOurs } from './ec2-common.js';
import { elasticache } from './elasticache.js';
import { gitaly } from './gitaly.js';
import { iamRole } from './iam-role.js';
import {
  INSTANCE,
  consoleTail,
  describeInstance,
  ensureInstance,
  instanceRunning,
  sshThroughBastion,
  terminateInstances,
} from './instances.js';
import { keyPair } from './key-pair.js';
import { loadBalancer } from './load-balancer.js';
import { machineImages } from './machine-images.js';
import { guideNames } from './names.js';
import { ownership } from './ownership.js';
import { privateRouteTables } from './private-route-tables.js';
import { rdsPostgres } from './rds-postgres.js';
import { s3Buckets } from './s3-buckets.js';
import { secrets } from './secrets.js';
import { securityGroups } from './security-groups.js';
import { subnets } from './subnets.js';
import { vpc } from './vpc.js';

/** The tag the image made from the base instance carries, naming it: a resume knows the base did its part. */
export const TAG_BASE_INSTANCE = 'gitlab-aws:base-instance';

const needs = [
  machineImages,
  keyPair,
  vpc,
  subnets,
  securityGroups,
  iamRole,
  secrets,
  s3Buckets,
  loadBalancer,
  rdsPostgres,
  elasticache,
  gitaly,
  bastionHosts,
  privateRouteTables,
] as const;
type Ctx = StepContext<typeof needs>;

/**
 * The base node's user-data, from what the steps before it made as the state file recorded it
 * (one builder of the facts for `render` and install: src/gitlab/node-inputs.ts).
 */
function userData(ctx: Ctx): string {
  return renderRailsUserData(railsNodeInput(ctx.config, 'base', factsFromSteps(ctx)));
}

interface Readiness {
  health: string;
  ready: boolean;
  failed: boolean;
}

/** What the load balancer says of the target and whether the boot script got to its last line. */
async function readiness(ec2: EC2, elb: ElasticLoadBalancingV2, targetGroupArn: string, instanceId: string): Promise<Readiness> {
  const described = await elb.describeTargetHealth({ TargetGroupArn: targetGroupArn, Targets: [{ Id: instanceId }] });
  const target = described.TargetHealthDescriptions?.[0]?.TargetHealth;
  const reason = target?.Reason ? ` (${target.Reason}${target.Description ? `: ${target.Description}` : ''})` : '';
  const lines = await consoleTail(ec2, instanceId, 1000);
  const said = (what: string) => lines.some((line) => line.includes(what));
  return { health: `${target?.State ?? 'unknown'}${reason}`, ready: said(READY_FOR_IMAGING), failed: said(BOOT_FAILED) };
}

/**
 * Waits until the target is healthy (GitLab's /-/readiness answers 200 through the NLB) and the
 * boot script said the node is fit to be imaged. When it never gets there, what the operator
 * needs to look: the last verdict, the console's tail and the ssh line to the node.
 */
async function healthy(ctx: Ctx, instanceId: string, privateIp: string): Promise<void> {
  const ec2 = await ctx.aws.ec2();
  const elb = await ctx.aws.elbv2();
  const targetGroupArn = ctx.output('load-balancer').targetGroupArns.http;
  const what = `GitLab on ${instanceId} to answer /-/readiness through the load balancer and print '${READY_FOR_IMAGING}'`;
  try {
    await ctx.poll(what, paceFor(AWS_MINUTES.gitlabBaseConfigure.create), async () => {
      const state = (await describeInstance(ec2, instanceId))?.State?.Name;
      if (state !== 'running') throw new Error(`instance ${instanceId} is ${state ?? 'gone'}; last seen: target ${state ?? 'gone'}`);
      const seen = await readiness(ec2, elb, targetGroupArn, instanceId);
      if (seen.health === 'healthy' && seen.ready) return { done: true, value: undefined };
      if (seen.failed) {
        throw new Error(
          `gave up waiting for ${what}: its boot script stopped on an error ('${BOOT_FAILED}'); last seen: target ${seen.health}`,
        );
      }
      return { done: false, seen: `target ${seen.health}, console ${seen.ready ? 'ready for imaging' : 'not yet ready for imaging'}` };
    });
  } catch (err) {
    if (ctx.signal.aborted && !(err instanceof WaitTimeout)) throw err;
    const tail = await consoleTail(ec2, instanceId);
    const bastion = ctx.output('bastion-hosts').hosts.find((h) => h.zone === 'a') ?? ctx.output('bastion-hosts').hosts[0];
    throw new Error(
      [
        errorMessage(err),
        `last ${tail.length} lines of its console output:`,
        ...tail.map((line) => `  ${line}`),
        `investigate on the node: ${sshThroughBastion(bastion?.publicIp ?? '<bastion IP>', privateIp)}`,
        '(sudo less /var/log/gitlab-aws-boot.log; sudo gitlab-ctl status); fix the cause and resume',
      ].join('\n'),
    );
  }
}

/** Images of ours made from this base instance (the gitlab-ami step tags them with its ID). */
async function imagedFrom(ctx: StepContext, instanceId: string): Promise<boolean> {
  const images =
    (
      await (
        await ctx.aws.ec2()
      ).describeImages({
        Owners: ['self'],
        Filters: [
          { Name: `tag:${TAG_BASE_INSTANCE}`, Values: [instanceId] },
          { Name: `tag:${TAG_DEPLOYMENT}`, Values: [ctx.deployment] },
        ],
      })
    ).Images ?? [];
  return images.some((i) => i.State === 'available' && belongsTo(i.Tags, ctx.deployment));
}

/**
 * Guide: "Install GitLab and create custom AMI": an instance of the official GitLab AMI in
 * private subnet A, in the GitLab instances' (loadbalancer) security group with the instance
 * profile, whose user-data writes the whole gitlab.rb before the first reconfigure. It joins the
 * HTTP target group, and the install waits until GitLab answers healthy through the NLB.
 */
export const baseInstance = defineStep({
  id: 'base-instance',
  title: 'GitLab base instance',
  needs,
  minutes: AWS_MINUTES.ec2Instance.create + AWS_MINUTES.gitlabBaseConfigure.create,
  outputs: z.object({ instanceId: z.string(), name: z.string(), privateIp: z.string() }),
  resources: (config) => [{ type: INSTANCE.type, name: guideNames(config.deployment).baseInstance, retiredBy: 'retire-base-instance' }],

  async create(ctx) {
    const name = guideNames(ctx.deployment).baseInstance;
    const instance = await ensureInstance(ctx, {
      name,
      token: 'base',
      image: ctx.output('machine-images').gitlab,
      instanceType: ctx.config.gitlab.instanceType,
      subnetId: ctx.output('subnets').subnets.privateA.id,
      securityGroupIds: [ctx.output('security-groups').groupIds.loadbalancer],
      keyName: ctx.output('key-pair').keyName,
      instanceProfileArn: ctx.output('iam-role').instanceProfileArn,
      userData: userData(ctx),
      replaceWhenChanged: true,
    });
    const instanceId = instance.InstanceId!;
    const privateIp = instance.PrivateIpAddress!;
    await (
      await ctx.aws.elbv2()
    ).registerTargets({ TargetGroupArn: ctx.output('load-balancer').targetGroupArns.http, Targets: [{ Id: instanceId }] });
    await healthy(ctx, instanceId, privateIp);
    return { instanceId, name, privateIp };
  },

  /** Running still, or imaged and retired since: either way the base did its part. */
  async verify(ctx, outputs) {
    return (await instanceRunning(ctx, outputs.instanceId)) || (await imagedFrom(ctx, outputs.instanceId));
  },

  discover: discoverOurs(INSTANCE),

  async destroy(ctx, resources) {
    // A terminated instance leaves its target groups by itself: no deregistration to make (and
    // none possible once the load balancer's outputs are gone).
    const owner = ownership(ctx);
    await terminateInstances(ctx, resources, owner);
    return owner.result();
  },
});
