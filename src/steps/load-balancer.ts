import { z } from 'zod';
import type { ElasticLoadBalancingV2, Listener, LoadBalancer, TargetGroup } from '@aws-sdk/client-elastic-load-balancing-v2';
import { AWS_MINUTES } from '../aws/durations.js';
import { isKind } from '../aws/errors.js';
import { belongsTo } from '../aws/tags.js';
import type { InstallConfig } from '../config/schema.js';
import { defineStep, type PlannedResource, type ResourceRef, type StepContext } from '../engine/step.js';
import { patience } from './ec2-common.js';
import { guideNames } from './names.js';
import { ownership, type Seen } from './ownership.js';
import { securityGroups } from './security-groups.js';
import { subnets } from './subnets.js';
import { tlsCertificate } from './tls-certificate.js';
import { vpc } from './vpc.js';
import { paceFor } from '../aws/poll.js';

const LOAD_BALANCER = 'AWS::ElasticLoadBalancingV2::LoadBalancer';
const TARGET_GROUP = 'AWS::ElasticLoadBalancingV2::TargetGroup';
const LISTENER = 'AWS::ElasticLoadBalancingV2::Listener';

/** A current TLS 1.3 policy (TLS 1.2 still allowed for older Git clients), as the guide asks. */
export const TLS_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';

type TargetKind = 'http' | 'ssh';

/** The guide's three listeners: Git over SSH, HTTP, and HTTPS ended at the load balancer. */
const LISTENERS: ReadonlyArray<{ port: number; protocol: 'TCP' | 'TLS'; target: TargetKind }> = [
  { port: 22, protocol: 'TCP', target: 'ssh' },
  { port: 80, protocol: 'TCP', target: 'http' },
  { port: 443, protocol: 'TLS', target: 'http' },
];

function listenerName(config: Pick<InstallConfig, 'deployment'>, l: (typeof LISTENERS)[number]): string {
  return `${guideNames(config.deployment).loadBalancer}-${l.protocol.toLowerCase()}-${l.port}`;
}

/** Tags as AWS has them now; undefined when the resource is gone. */
export async function elbTags(elb: ElasticLoadBalancingV2, arn: string): Promise<Seen> {
  try {
    return (await elb.describeTags({ ResourceArns: [arn] })).TagDescriptions?.[0]?.Tags ?? [];
  } catch (err) {
    if (isKind(err, 'not-found')) return undefined;
    throw err;
  }
}

export async function describeByName<T>(read: () => Promise<T[] | undefined>): Promise<T | undefined> {
  try {
    return (await read())?.[0];
  } catch (err) {
    if (isKind(err, 'not-found')) return undefined;
    throw err;
  }
}

/** ELB answers a create by name with the existing resource: refuse one that is not ours rather than adopt it. */
async function mustBeOurs(ctx: StepContext, elb: ElasticLoadBalancingV2, arn: string, what: string): Promise<void> {
  const tags = await elbTags(elb, arn);
  if (Array.isArray(tags) && belongsTo(tags, ctx.deployment)) return;
  throw new Error(`${what} exists and is not this deployment's; delete or rename it, or use another --deployment, then resume`);
}

async function ensureLoadBalancer(ctx: StepContext, elb: ElasticLoadBalancingV2, placement: { subnetIds: string[]; groupId: string }) {
  const name = guideNames(ctx.deployment).loadBalancer;
  const existing = await describeByName(async () => (await elb.describeLoadBalancers({ Names: [name] })).LoadBalancers);
  if (existing) await mustBeOurs(ctx, elb, existing.LoadBalancerArn!, `load balancer ${name}`);
  // An NLB takes its security groups at creation only: the load balancer group goes in now.
  const lb =
    existing ??
    (
      await elb.createLoadBalancer({
        Name: name,
        Type: 'network',
        Scheme: 'internet-facing',
        IpAddressType: 'ipv4',
        Subnets: placement.subnetIds,
        SecurityGroups: [placement.groupId],
        Tags: ctx.tags(name),
      })
    ).LoadBalancers![0]!;
  await ctx.record({ type: LOAD_BALANCER, id: lb.LoadBalancerArn!, name });
  return lb;
}

async function ensureTargetGroup(ctx: StepContext, elb: ElasticLoadBalancingV2, kind: TargetKind, vpcId: string): Promise<TargetGroup> {
  const name = guideNames(ctx.deployment).targetGroup(kind);
  const existing = await describeByName(async () => (await elb.describeTargetGroups({ Names: [name] })).TargetGroups);
  if (existing) await mustBeOurs(ctx, elb, existing.TargetGroupArn!, `target group ${name}`);
  const health =
    kind === 'http'
      ? { HealthCheckProtocol: 'HTTP' as const, HealthCheckPath: '/-/readiness', Matcher: { HttpCode: '200' } }
      : { HealthCheckProtocol: 'TCP' as const };
  const group =
    existing ??
    (
      await elb.createTargetGroup({
        Name: name,
        Protocol: 'TCP',
        Port: kind === 'http' ? 80 : 22,
        VpcId: vpcId,
        TargetType: 'instance',
        ...health,
        Tags: ctx.tags(name),
      })
    ).TargetGroups![0]!;
  await ctx.record({ type: TARGET_GROUP, id: group.TargetGroupArn!, name });
  if (kind === 'http') {
    // Set either way, so an answer changed between runs converges; client IP preservation stays AWS's default.
    await elb.modifyTargetGroupAttributes({
      TargetGroupArn: group.TargetGroupArn!,
      Attributes: [{ Key: 'proxy_protocol_v2.enabled', Value: String(Boolean(ctx.config.proxyProtocol)) }],
    });
  }
  return group;
}

async function ensureListeners(
  ctx: StepContext,
  elb: ElasticLoadBalancingV2,
  lb: LoadBalancer,
  groups: Record<TargetKind, TargetGroup>,
  certificateArn: string,
): Promise<Listener[]> {
  const existing = (await elb.describeListeners({ LoadBalancerArn: lb.LoadBalancerArn! })).Listeners ?? [];
  const made: Listener[] = [];
  for (const l of LISTENERS) {
    const name = listenerName(ctx.config, l);
    const listener =
      existing.find((e) => e.Port === l.port) ??
      (
        await elb.createListener({
          LoadBalancerArn: lb.LoadBalancerArn!,
          Port: l.port,
          Protocol: l.protocol,
          DefaultActions: [{ Type: 'forward', TargetGroupArn: groups[l.target].TargetGroupArn! }],
          ...(l.protocol === 'TLS' ? { Certificates: [{ CertificateArn: certificateArn }], SslPolicy: TLS_POLICY } : {}),
          Tags: ctx.tags(name),
        })
      ).Listeners![0]!;
    await ctx.record({ type: LISTENER, id: listener.ListenerArn!, name });
    made.push(listener);
  }
  return made;
}

/**
 * Guide: "Load Balancer": the network load balancer `gitlab-loadbalancer`, internet-facing in both
 * public subnets behind the load balancer security group, its two target groups (HTTP with the
 * `/-/readiness` check, SSH with a TCP check) and three listeners (22, 80, and TLS on 443 with the
 * certificate). Proxy protocol v2 on the HTTP group only when asked for.
 */
export const loadBalancer = defineStep({
  id: 'load-balancer',
  title: 'Network load balancer',
  needs: [vpc, subnets, securityGroups, tlsCertificate],
  minutes: AWS_MINUTES.networkLoadBalancer.create + AWS_MINUTES.targetGroupOrListener.create,
  outputs: z.object({
    loadBalancerArn: z.string(),
    dnsName: z.string(),
    canonicalHostedZoneId: z.string(),
    targetGroupArns: z.object({ http: z.string(), ssh: z.string() }),
    listenerArns: z.array(z.string()),
    proxyProtocol: z.boolean(),
  }),
  resources: (config): PlannedResource[] => {
    const names = guideNames(config.deployment);
    return [
      { type: LOAD_BALANCER, name: names.loadBalancer },
      { type: TARGET_GROUP, name: names.targetGroup('http') },
      { type: TARGET_GROUP, name: names.targetGroup('ssh') },
      ...LISTENERS.map((l) => ({ type: LISTENER, name: listenerName(config, l) })),
    ];
  },

  async create(ctx) {
    const elb = await ctx.aws.elbv2();
    const { vpcId } = ctx.output('vpc');
    const lb = await ensureLoadBalancer(ctx, elb, {
      subnetIds: [...ctx.output('subnets').publicSubnetIds],
      groupId: ctx.output('security-groups').groupIds.loadbalancer,
    });
    const groups = { http: await ensureTargetGroup(ctx, elb, 'http', vpcId), ssh: await ensureTargetGroup(ctx, elb, 'ssh', vpcId) };
    const listeners = await ensureListeners(ctx, elb, lb, groups, ctx.output('tls-certificate').certificateArn);
    const active = await ctx.poll(
      `load balancer ${lb.LoadBalancerName} to be active`,
      paceFor(AWS_MINUTES.networkLoadBalancer.create),
      async () => {
        const now = (await elb.describeLoadBalancers({ LoadBalancerArns: [lb.LoadBalancerArn!] })).LoadBalancers?.[0];
        if (now?.State?.Code === 'failed')
          throw new Error(`load balancer ${lb.LoadBalancerName} failed: ${now.State.Reason}; delete it and resume`);
        return now?.State?.Code === 'active' ? { done: true, value: now } : { done: false, seen: String(now?.State?.Code) };
      },
    );
    return {
      loadBalancerArn: active.LoadBalancerArn!,
      dnsName: active.DNSName!,
      canonicalHostedZoneId: active.CanonicalHostedZoneId!,
      targetGroupArns: { http: groups.http.TargetGroupArn!, ssh: groups.ssh.TargetGroupArn! },
      listenerArns: listeners.map((l) => l.ListenerArn!),
      proxyProtocol: Boolean(ctx.config.proxyProtocol),
    };
  },

  async verify(ctx, outputs) {
    const elb = await ctx.aws.elbv2();
    const lb = await describeByName(
      async () => (await elb.describeLoadBalancers({ LoadBalancerArns: [outputs.loadBalancerArn] })).LoadBalancers,
    );
    if (lb?.State?.Code !== 'active') return false;
    const listeners = (await elb.describeListeners({ LoadBalancerArn: outputs.loadBalancerArn })).Listeners ?? [];
    return LISTENERS.every((l) => listeners.some((x) => x.Port === l.port));
  },

  async discover(ctx) {
    const elb = await ctx.aws.elbv2();
    const names = guideNames(ctx.deployment);
    const lb = await describeByName(async () => (await elb.describeLoadBalancers({ Names: [names.loadBalancer] })).LoadBalancers);
    const groups: TargetGroup[] = [];
    for (const kind of ['http', 'ssh'] as const) {
      const g = await describeByName(async () => (await elb.describeTargetGroups({ Names: [names.targetGroup(kind)] })).TargetGroups);
      if (g) groups.push(g);
    }
    const refs: ResourceRef[] = [];
    if (lb && (await isOurs(ctx, elb, lb.LoadBalancerArn!))) {
      refs.push({ type: LOAD_BALANCER, id: lb.LoadBalancerArn!, name: lb.LoadBalancerName! });
      for (const l of (await elb.describeListeners({ LoadBalancerArn: lb.LoadBalancerArn! })).Listeners ?? []) {
        if (await isOurs(ctx, elb, l.ListenerArn!)) refs.push({ type: LISTENER, id: l.ListenerArn!, name: `${l.Protocol} ${l.Port}` });
      }
    }
    for (const g of groups) {
      if (await isOurs(ctx, elb, g.TargetGroupArn!)) refs.push({ type: TARGET_GROUP, id: g.TargetGroupArn!, name: g.TargetGroupName! });
    }
    return refs;
  },

  async destroy(ctx, resources) {
    const elb = await ctx.aws.elbv2();
    const owner = ownership(ctx);
    const of = (type: string) => resources.filter((r) => r.type === type);
    // Listeners first (they go with their load balancer too), then the load balancer, then its target groups.
    for (const ref of of(LISTENER)) {
      if (!(await owner.ours(ref, () => elbTags(elb, ref.id)))) continue;
      try {
        await elb.deleteListener({ ListenerArn: ref.id });
      } catch (err) {
        if (!isKind(err, 'not-found')) throw err;
      }
      await ctx.forget(ref);
    }
    for (const ref of of(LOAD_BALANCER)) {
      if (!(await owner.ours(ref, () => elbTags(elb, ref.id)))) continue;
      await elb.deleteLoadBalancer({ LoadBalancerArn: ref.id });
      await ctx.poll(`load balancer ${ref.name ?? ref.id} to be deleted`, paceFor(AWS_MINUTES.networkLoadBalancer.delete), async () => {
        const still = await describeByName(async () => (await elb.describeLoadBalancers({ LoadBalancerArns: [ref.id] })).LoadBalancers);
        return still ? { done: false, seen: String(still.State?.Code) } : { done: true, value: undefined };
      });
      await ctx.forget(ref);
    }
    for (const ref of of(TARGET_GROUP)) {
      if (!(await owner.ours(ref, () => elbTags(elb, ref.id)))) continue;
      // A target group stays in use for a moment after its load balancer's listeners go.
      await ctx.retry(
        `target group ${ref.name ?? ref.id} to be free`,
        ['dependency'],
        patience(AWS_MINUTES.networkLoadBalancer.delete),
        () => elb.deleteTargetGroup({ TargetGroupArn: ref.id }),
      );
      await ctx.forget(ref);
    }
    return owner.result();
  },
});

async function isOurs(ctx: StepContext, elb: ElasticLoadBalancingV2, arn: string): Promise<boolean> {
  const tags = await elbTags(elb, arn);
  return Array.isArray(tags) && belongsTo(tags, ctx.deployment);
}
