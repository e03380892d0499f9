import type {
  ElasticLoadBalancingV2,
  Listener,
  LoadBalancer,
  TargetGroup,
  TargetGroupAttribute,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { AWS_MINUTES, MINUTE } from '../aws/durations.js';
import { TAG_NAME } from '../aws/tags.js';
import {
  awsError,
  sandboxResource,
  tagList,
  tagsFromList,
  type OperationContext,
  type SandboxService,
  type SdkOperations,
} from './core.js';
import { certificateStatus } from './acm.js';
import { placeEni, releaseEnis } from './network-interfaces.js';
import { targetOperations, type SandboxTarget } from './elb-targets.js';

/** Elastic Load Balancing v2's part of the account: network load balancers, target groups, listeners, by ARN. */
export interface Elbv2World {
  loadBalancers: Record<string, SandboxLoadBalancer>;
  targetGroups: Record<string, SandboxTargetGroup>;
  listeners: Record<string, SandboxListener>;
}

export interface SandboxLoadBalancer {
  arn: string;
  name: string;
  region: string;
  scheme: string;
  ipAddressType: string;
  vpcId: string;
  subnets: Array<{ subnetId: string; zone: string }>;
  securityGroups: string[];
  dnsName: string;
  createdAt: number;
  readyAt: number;
  tags: Record<string, string>;
}

export interface SandboxTargetGroup {
  arn: string;
  name: string;
  region: string;
  protocol: string;
  port: number;
  vpcId: string;
  targetType: string;
  healthCheck: { protocol: string; port: string; path?: string; matcher?: string; interval: number; timeout: number };
  attributes: Record<string, string>;
  tags: Record<string, string>;
  /** Registered instances by ID (elb-targets.ts). */
  targets?: Record<string, SandboxTarget>;
}

export interface SandboxListener {
  arn: string;
  region: string;
  loadBalancerArn: string;
  protocol: string;
  port: number;
  targetGroupArn: string;
  certificateArn?: string;
  sslPolicy?: string;
  tags: Record<string, string>;
}

/** The canonical hosted zone of network load balancers in a region (what an alias record names). */
const NLB_ZONE: Record<string, string> = { 'us-east-1': 'Z26RNL4JYFTOTI', 'us-west-2': 'Z18D5FSROUN65G', 'eu-central-1': 'Z3F0SRJ5LGBH90' };
export function nlbHostedZone(region: string): string {
  return NLB_ZONE[region] ?? 'Z2IFOLAFXWLO4F';
}

/** What AWS sets on a TCP target group until told otherwise. */
const DEFAULT_ATTRIBUTES = {
  'deregistration_delay.timeout_seconds': '300',
  'proxy_protocol_v2.enabled': 'false',
  'preserve_client_ip.enabled': 'true',
  'stickiness.enabled': 'false',
  'stickiness.type': 'source_ip',
};

function slice(ctx: OperationContext): Elbv2World {
  return ctx.world.elbv2;
}

function arnOf(ctx: OperationContext, kind: string, name: string): string {
  return `arn:aws:elasticloadbalancing:${ctx.region}:${ctx.world.accountId}:${kind}/${name}/${ctx.newId('x', 16).slice(2)}`;
}

function lbState(lb: SandboxLoadBalancer, now: number): 'provisioning' | 'active' {
  return now >= lb.readyAt ? 'active' : 'provisioning';
}

function lbView(ctx: OperationContext, lb: SandboxLoadBalancer): LoadBalancer {
  return {
    LoadBalancerArn: lb.arn,
    LoadBalancerName: lb.name,
    DNSName: lb.dnsName,
    CanonicalHostedZoneId: nlbHostedZone(lb.region),
    CreatedTime: new Date(lb.createdAt),
    Scheme: lb.scheme as LoadBalancer['Scheme'],
    VpcId: lb.vpcId,
    State: { Code: lbState(lb, ctx.now) },
    Type: 'network',
    AvailabilityZones: lb.subnets.map((s) => ({ SubnetId: s.subnetId, ZoneName: s.zone })),
    SecurityGroups: lb.securityGroups,
    IpAddressType: lb.ipAddressType as LoadBalancer['IpAddressType'],
  };
}

function tgView(ctx: OperationContext, tg: SandboxTargetGroup): TargetGroup {
  const h = tg.healthCheck;
  return {
    TargetGroupArn: tg.arn,
    TargetGroupName: tg.name,
    Protocol: tg.protocol as TargetGroup['Protocol'],
    Port: tg.port,
    VpcId: tg.vpcId,
    TargetType: tg.targetType as TargetGroup['TargetType'],
    HealthCheckProtocol: h.protocol as TargetGroup['HealthCheckProtocol'],
    HealthCheckPort: h.port,
    HealthCheckEnabled: true,
    HealthCheckIntervalSeconds: h.interval,
    HealthCheckTimeoutSeconds: h.timeout,
    ...(h.path ? { HealthCheckPath: h.path } : {}),
    ...(h.matcher ? { Matcher: { HttpCode: h.matcher } } : {}),
    LoadBalancerArns: [
      ...new Set(
        Object.values(slice(ctx).listeners)
          .filter((l) => l.targetGroupArn === tg.arn)
          .map((l) => l.loadBalancerArn),
      ),
    ],
  };
}

function listenerView(l: SandboxListener): Listener {
  return {
    ListenerArn: l.arn,
    LoadBalancerArn: l.loadBalancerArn,
    Port: l.port,
    Protocol: l.protocol as Listener['Protocol'],
    ...(l.certificateArn ? { Certificates: [{ CertificateArn: l.certificateArn }] } : {}),
    ...(l.sslPolicy ? { SslPolicy: l.sslPolicy } : {}),
    DefaultActions: [{ Type: 'forward', TargetGroupArn: l.targetGroupArn }],
  };
}

function loadBalancer(ctx: OperationContext, arn: string | undefined): SandboxLoadBalancer {
  const lb = arn ? slice(ctx).loadBalancers[arn] : undefined;
  if (!lb || lb.region !== ctx.region) throw awsError('LoadBalancerNotFound', `Load balancer '${arn}' not found`);
  return lb;
}

function targetGroup(ctx: OperationContext, arn: string | undefined): SandboxTargetGroup {
  const tg = arn ? slice(ctx).targetGroups[arn] : undefined;
  if (!tg || tg.region !== ctx.region) throw awsError('TargetGroupNotFound', `Target groups '${arn}' not found`);
  return tg;
}

/** An EC2 resource as another service sees it: existing in the region (its lag is EC2's own API's). */
function ec2Resource(ctx: OperationContext, kind: 'subnet' | 'security-group' | 'vpc', id: string | undefined, code: string) {
  const r = id ? ctx.world.ec2[id] : undefined;
  if (!r || r.kind !== kind || r.region !== ctx.region || r.goneAt !== undefined) throw awsError(code, `The ${kind} '${id}' was not found`);
  return r;
}

function inRegion<T extends { region: string }>(ctx: OperationContext, items: Record<string, T>): T[] {
  return Object.values(items).filter((x) => x.region === ctx.region);
}

/** Every taggable ELB resource of the call's region, by ARN. */
function taggable(ctx: OperationContext, arn: string): { tags: Record<string, string> } {
  const s = slice(ctx);
  const found = s.loadBalancers[arn] ?? s.targetGroups[arn] ?? s.listeners[arn];
  if (!found || found.region !== ctx.region) throw awsError('LoadBalancerNotFound', `Resource '${arn}' not found`);
  return found;
}

/** ELB names: up to 32 letters, digits and hyphens, not starting or ending with a hyphen. */
function checkName(name: string | undefined, what: string): string {
  if (!name || !/^[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/.test(name)) {
    throw awsError(
      'ValidationError',
      `${what} name '${name}' must be 1-32 letters, digits or hyphens, not starting or ending with a hyphen`,
    );
  }
  return name;
}

const operations: SdkOperations<ElasticLoadBalancingV2> = {
  CreateLoadBalancer(ctx, input) {
    const name = checkName(input.Name, 'Load balancer');
    if ((input.Type ?? 'application') !== 'network') throw awsError('ValidationError', 'The sandbox makes network load balancers only');
    const subnets = (input.Subnets ?? []).map((id) => ec2Resource(ctx, 'subnet', id, 'SubnetNotFound'));
    if (subnets.length === 0) throw awsError('ValidationError', 'At least one subnet must be specified');
    const zones = subnets.map((s) => s.attrs.availabilityZone as string);
    if (new Set(zones).size !== zones.length)
      throw awsError('InvalidConfigurationRequest', 'Only one subnet per Availability Zone may be specified');
    const vpcId = subnets[0]!.attrs.vpcId as string;
    const securityGroups = [...new Set(input.SecurityGroups ?? [])];
    for (const id of securityGroups) {
      const group = ec2Resource(ctx, 'security-group', id, 'InvalidSecurityGroup');
      if (group.attrs.vpcId !== vpcId) throw awsError('InvalidConfigurationRequest', `Security group '${id}' is not in VPC '${vpcId}'`);
    }
    const existing = inRegion(ctx, slice(ctx).loadBalancers).find((lb) => lb.name === name);
    if (existing) {
      // Same name and same settings answers the existing one, as AWS does; anything else is a clash.
      const same =
        existing.subnets.map((s) => s.subnetId).join() === subnets.map((s) => s.id).join() &&
        existing.securityGroups.join() === securityGroups.join() &&
        existing.scheme === (input.Scheme ?? 'internet-facing');
      if (!same) throw awsError('DuplicateLoadBalancerName', `A load balancer with the name '${name}' already exists`);
      return { LoadBalancers: [lbView(ctx, existing)] };
    }
    const arn = arnOf(ctx, 'loadbalancer/net', name);
    const lb: SandboxLoadBalancer = {
      arn,
      name,
      region: ctx.region,
      scheme: input.Scheme ?? 'internet-facing',
      ipAddressType: input.IpAddressType ?? 'ipv4',
      vpcId,
      subnets: subnets.map((s, i) => ({ subnetId: s.id, zone: zones[i]! })),
      securityGroups,
      dnsName: `${name}-${ctx.newId('x', 16).slice(2)}.elb.${ctx.region}.amazonaws.com`,
      createdAt: ctx.now,
      readyAt: ctx.now + AWS_MINUTES.networkLoadBalancer.create * MINUTE,
      tags: tagsFromList(input.Tags),
    };
    slice(ctx).loadBalancers[arn] = lb;
    // One requester-managed interface per subnet, holding the subnet and the security groups.
    for (const subnet of subnets) {
      placeEni(ctx, {
        subnet,
        ownerId: arn,
        interfaceType: 'network_load_balancer',
        securityGroupIds: securityGroups,
        description: `ELB net/${name}`,
      });
    }
    return { LoadBalancers: [lbView(ctx, lb)] };
  },

  DescribeLoadBalancers(ctx, input) {
    const all = inRegion(ctx, slice(ctx).loadBalancers);
    if (input.Names?.length) {
      const found = input.Names.map((n) => all.find((lb) => lb.name === n));
      if (found.some((lb) => !lb)) throw awsError('LoadBalancerNotFound', `One or more load balancers not found`);
      return { LoadBalancers: found.map((lb) => lbView(ctx, lb!)) };
    }
    if (input.LoadBalancerArns?.length) return { LoadBalancers: input.LoadBalancerArns.map((a) => lbView(ctx, loadBalancer(ctx, a))) };
    return { LoadBalancers: all.map((lb) => lbView(ctx, lb)) };
  },

  DeleteLoadBalancer(ctx, input) {
    const lb = slice(ctx).loadBalancers[input.LoadBalancerArn ?? ''];
    // Deleting one that is gone succeeds, as AWS answers.
    if (!lb || lb.region !== ctx.region) return {};
    for (const l of Object.values(slice(ctx).listeners)) if (l.loadBalancerArn === lb.arn) delete slice(ctx).listeners[l.arn];
    delete slice(ctx).loadBalancers[lb.arn];
    // Its interfaces linger after it is gone: the subnets and groups stay undeletable meanwhile.
    releaseEnis(ctx, lb.arn, ctx.now + AWS_MINUTES.networkLoadBalancer.eniLinger * MINUTE);
    return {};
  },

  CreateTargetGroup(ctx, input) {
    const name = checkName(input.Name, 'Target group');
    const vpc = ec2Resource(ctx, 'vpc', input.VpcId, 'ValidationError');
    const protocol = input.Protocol ?? 'TCP';
    const healthProtocol = input.HealthCheckProtocol ?? 'TCP';
    const wanted: Omit<SandboxTargetGroup, 'arn' | 'tags' | 'attributes'> = {
      name,
      region: ctx.region,
      protocol,
      port: input.Port ?? 80,
      vpcId: vpc.id,
      targetType: input.TargetType ?? 'instance',
      healthCheck: {
        protocol: healthProtocol,
        port: input.HealthCheckPort ?? 'traffic-port',
        ...(healthProtocol !== 'TCP' ? { path: input.HealthCheckPath ?? '/', matcher: input.Matcher?.HttpCode ?? '200-399' } : {}),
        interval: input.HealthCheckIntervalSeconds ?? 30,
        timeout: input.HealthCheckTimeoutSeconds ?? (healthProtocol === 'TCP' ? 10 : 6),
      },
    };
    const existing = inRegion(ctx, slice(ctx).targetGroups).find((tg) => tg.name === name);
    if (existing) {
      const { arn: _a, tags: _t, attributes: _x, targets: _r, ...settings } = existing;
      if (JSON.stringify(settings) !== JSON.stringify(wanted)) {
        throw awsError('DuplicateTargetGroupName', `A target group with the same name '${name}' exists, but with different settings`);
      }
      return { TargetGroups: [tgView(ctx, existing)] };
    }
    const tg: SandboxTargetGroup = {
      ...wanted,
      arn: arnOf(ctx, 'targetgroup', name),
      attributes: { ...DEFAULT_ATTRIBUTES },
      tags: tagsFromList(input.Tags),
    };
    slice(ctx).targetGroups[tg.arn] = tg;
    return { TargetGroups: [tgView(ctx, tg)] };
  },

  DescribeTargetGroups(ctx, input) {
    const all = inRegion(ctx, slice(ctx).targetGroups);
    if (input.Names?.length) {
      const found = input.Names.map((n) => all.find((tg) => tg.name === n));
      if (found.some((tg) => !tg)) throw awsError('TargetGroupNotFound', 'One or more target groups not found');
      return { TargetGroups: found.map((tg) => tgView(ctx, tg!)) };
    }
    if (input.TargetGroupArns?.length) return { TargetGroups: input.TargetGroupArns.map((a) => tgView(ctx, targetGroup(ctx, a))) };
    const views = all.map((tg) => tgView(ctx, tg));
    return { TargetGroups: input.LoadBalancerArn ? views.filter((v) => v.LoadBalancerArns?.includes(input.LoadBalancerArn!)) : views };
  },

  DescribeTargetGroupAttributes(ctx, input) {
    const tg = targetGroup(ctx, input.TargetGroupArn);
    return { Attributes: Object.entries(tg.attributes).map(([Key, Value]) => ({ Key, Value })) };
  },

  ModifyTargetGroupAttributes(ctx, input) {
    const tg = targetGroup(ctx, input.TargetGroupArn);
    for (const { Key, Value } of input.Attributes ?? []) {
      if (!Key || !(Key in DEFAULT_ATTRIBUTES)) throw awsError('ValidationError', `The attribute key '${Key}' is not recognized`);
      tg.attributes[Key] = Value ?? '';
    }
    return { Attributes: Object.entries(tg.attributes).map(([Key, Value]): TargetGroupAttribute => ({ Key, Value })) };
  },

  DeleteTargetGroup(ctx, input) {
    const tg = slice(ctx).targetGroups[input.TargetGroupArn ?? ''];
    if (!tg || tg.region !== ctx.region) return {};
    const user = Object.values(slice(ctx).listeners).find((l) => l.targetGroupArn === tg.arn);
    if (user) throw awsError('ResourceInUse', `Target group '${tg.arn}' is currently in use by a listener or a rule`);
    delete slice(ctx).targetGroups[tg.arn];
    return {};
  },

  CreateListener(ctx, input) {
    const lb = loadBalancer(ctx, input.LoadBalancerArn);
    const forward = input.DefaultActions?.find((a) => a.Type === 'forward');
    const tg = targetGroup(ctx, forward?.TargetGroupArn ?? forward?.ForwardConfig?.TargetGroups?.[0]?.TargetGroupArn);
    if (tg.vpcId !== lb.vpcId) throw awsError('ValidationError', "The target group is not in the load balancer's VPC");
    const protocol = input.Protocol ?? 'TCP';
    const certificateArn = input.Certificates?.[0]?.CertificateArn;
    if (protocol === 'TLS') {
      if (!certificateArn) throw awsError('CertificateNotFound', 'A certificate must be specified for a TLS listener');
      const cert = ctx.world.acm.certificates[certificateArn];
      if (!cert || cert.region !== ctx.region) throw awsError('CertificateNotFound', `Certificate '${certificateArn}' not found`);
      if (certificateStatus(ctx, cert) !== 'ISSUED')
        throw awsError('UnsupportedCertificate', `The certificate '${certificateArn}' is not issued`);
    }
    const existing = Object.values(slice(ctx).listeners).find((l) => l.loadBalancerArn === lb.arn && l.port === input.Port);
    if (existing) {
      if (existing.protocol !== protocol || existing.targetGroupArn !== tg.arn || existing.certificateArn !== certificateArn) {
        throw awsError('DuplicateListener', `A listener already exists on port ${input.Port}`);
      }
      return { Listeners: [listenerView(existing)] };
    }
    const listener: SandboxListener = {
      arn: `arn:aws:elasticloadbalancing:${ctx.region}:${ctx.world.accountId}:listener/net/${lb.name}/${lb.arn.split('/').pop()}/${ctx.newId('x', 16).slice(2)}`,
      region: ctx.region,
      loadBalancerArn: lb.arn,
      protocol,
      port: input.Port ?? 80,
      targetGroupArn: tg.arn,
      ...(certificateArn ? { certificateArn, sslPolicy: input.SslPolicy ?? 'ELBSecurityPolicy-2016-08' } : {}),
      tags: tagsFromList(input.Tags),
    };
    slice(ctx).listeners[listener.arn] = listener;
    return { Listeners: [listenerView(listener)] };
  },

  DescribeListeners(ctx, input) {
    const all = inRegion(ctx, slice(ctx).listeners);
    if (input.ListenerArns?.length) {
      const found = input.ListenerArns.map((a) => all.find((l) => l.arn === a));
      if (found.some((l) => !l)) throw awsError('ListenerNotFound', 'One or more listeners not found');
      return { Listeners: found.map((l) => listenerView(l!)) };
    }
    const lb = loadBalancer(ctx, input.LoadBalancerArn);
    return {
      Listeners: all
        .filter((l) => l.loadBalancerArn === lb.arn)
        .sort((a, b) => a.port - b.port)
        .map(listenerView),
    };
  },

  DeleteListener(ctx, input) {
    const l = slice(ctx).listeners[input.ListenerArn ?? ''];
    if (!l || l.region !== ctx.region) throw awsError('ListenerNotFound', `Listener '${input.ListenerArn}' not found`);
    delete slice(ctx).listeners[l.arn];
    return {};
  },

  AddTags(ctx, input) {
    for (const arn of input.ResourceArns ?? []) Object.assign(taggable(ctx, arn).tags, tagsFromList(input.Tags));
    return {};
  },

  DescribeTags(ctx, input) {
    return { TagDescriptions: (input.ResourceArns ?? []).map((arn) => ({ ResourceArn: arn, Tags: tagList(taggable(ctx, arn).tags) })) };
  },
};

export const elbv2Service: SandboxService<Elbv2World, 'elbv2'> = {
  name: 'elbv2',
  operations: { ...operations, ...targetOperations },
  // A create answers at once; the load balancer then provisions for AWS_MINUTES.networkLoadBalancer.create.
  latency: {},
  empty: () => ({ loadBalancers: {}, targetGroups: {}, listeners: {} }),
  inventory: (world) => [
    ...Object.values(world.elbv2.loadBalancers).map((lb) =>
      sandboxResource('AWS::ElasticLoadBalancingV2::LoadBalancer', lb.arn, lb.tags[TAG_NAME] ?? lb.name, lb.tags),
    ),
    ...Object.values(world.elbv2.targetGroups).map((tg) =>
      sandboxResource('AWS::ElasticLoadBalancingV2::TargetGroup', tg.arn, tg.tags[TAG_NAME] ?? tg.name, tg.tags),
    ),
    ...Object.values(world.elbv2.listeners).map((l) =>
      sandboxResource('AWS::ElasticLoadBalancingV2::Listener', l.arn, l.tags[TAG_NAME] ?? `${l.protocol} ${l.port}`, l.tags),
    ),
  ],
};
