import type { ElasticLoadBalancingV2, TargetHealth, TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';

import { awsError, type OperationContext, type SdkOperations } from './core.js';
import { instanceReadiness } from './boot.js';
import { admits } from './reach.js';
import { all, state } from './ec2.js';
import type { SandboxTargetGroup } from './elbv2.js';

/**
 * Instance targets of target groups and their health as ELB reports it: `initial` for the first
 * check, then `healthy` or `unhealthy` from what the instance answers (the boot simulator),
 * `draining` for the deregistration delay, `unused` when the instance or the listener is missing.
 */

export interface SandboxTarget {
  id: string;
  port: number;
  registeredAt: number;
  deregisteredAt?: number;
}

function group(ctx: OperationContext, arn: string | undefined): SandboxTargetGroup {
  const tg = arn ? ctx.world.elbv2.targetGroups[arn] : undefined;
  if (!tg || tg.region !== ctx.region) throw awsError('TargetGroupNotFound', `Target groups '${arn}' not found`);
  return tg;
}

function targetsOf(tg: SandboxTargetGroup): Record<string, SandboxTarget> {
  tg.targets ??= {};
  return tg.targets;
}

/** Registers running instances of the group's VPC (the Auto Scaling plug-in registers its instances so). */
export function registerInstanceTargets(
  ctx: OperationContext,
  targetGroupArn: string,
  targets: Array<{ Id?: string; Port?: number }>,
): void {
  const tg = group(ctx, targetGroupArn);
  const notRunning: string[] = [];
  for (const t of targets) {
    const instance = t.Id ? ctx.world.ec2[t.Id] : undefined;
    if (!instance || instance.kind !== 'instance' || instance.region !== ctx.region) {
      throw awsError('InvalidTarget', `The following targets are not valid instances: '${t.Id}'`);
    }
    if (instance.attrs.vpcId !== tg.vpcId) {
      throw awsError('InvalidTarget', `The following targets are not in the target group VPC '${tg.vpcId}': '${t.Id}'`);
    }
    if (state(instance, ctx.now) !== 'running') notRunning.push(instance.id);
  }
  if (notRunning.length) {
    throw awsError(
      'InvalidTarget',
      `The following targets are not in a running state and cannot be registered: '${notRunning.join("', '")}'`,
    );
  }
  for (const t of targets) {
    const current = targetsOf(tg)[t.Id!];
    const port = t.Port ?? tg.port;
    // Registering again a target that is in service changes nothing; a draining one starts anew.
    if (current && current.deregisteredAt === undefined && current.port === port) continue;
    targetsOf(tg)[t.Id!] = { id: t.Id!, port, registeredAt: ctx.now };
  }
}

/** Deregisters targets: they drain for the group's deregistration delay, then are gone. */
export function deregisterInstanceTargets(ctx: OperationContext, targetGroupArn: string, targets: Array<{ Id?: string }>): void {
  const tg = group(ctx, targetGroupArn);
  for (const t of targets) {
    const current = targetsOf(tg)[t.Id ?? ''];
    if (current && current.deregisteredAt === undefined) current.deregisteredAt = ctx.now;
  }
}

function drainMs(tg: SandboxTargetGroup): number {
  return Number(tg.attributes['deregistration_delay.timeout_seconds'] ?? '300') * 1000;
}

/** Targets ELB still reports; drained and long-terminated ones are forgotten. */
function liveTargets(ctx: OperationContext, tg: SandboxTargetGroup): SandboxTarget[] {
  const targets = targetsOf(tg);
  for (const t of Object.values(targets)) {
    const instance = ctx.world.ec2[t.id];
    const drained = t.deregisteredAt !== undefined && ctx.now >= t.deregisteredAt + drainMs(tg);
    const terminated = !instance || (instance.goneAt !== undefined && ctx.now >= instance.goneAt + drainMs(tg));
    if (drained || terminated) delete targets[t.id];
  }
  return Object.values(targets);
}

function matcherAccepts(matcher: string | undefined, code: number): boolean {
  return (matcher ?? '200-399').split(',').some((part) => {
    const [low, high] = part.split('-').map(Number);
    return high === undefined ? code === low : code >= low! && code <= high;
  });
}

/** One target's health now, as DescribeTargetHealth reports it. */
export function targetHealth(ctx: OperationContext, tg: SandboxTargetGroup, target: SandboxTarget): TargetHealth {
  if (target.deregisteredAt !== undefined) {
    return { State: 'draining', Reason: 'Target.DeregistrationInProgress', Description: 'Target deregistration is in progress' };
  }
  const instance = ctx.world.ec2[target.id];
  const current = instance ? state(instance, ctx.now) : 'terminated';
  if (current !== 'running') return { State: 'unused', Reason: 'Target.InvalidState', Description: `Target is in the ${current} state` };
  const listened = Object.values(ctx.world.elbv2.listeners).filter((l) => l.targetGroupArn === tg.arn);
  if (!listened.length) {
    return {
      State: 'unused',
      Reason: 'Target.NotInUse',
      Description: 'Target group is not configured to receive traffic from the load balancer',
    };
  }
  if (ctx.now < target.registeredAt + tg.healthCheck.interval * 1000) {
    return { State: 'initial', Reason: 'Elb.RegistrationInProgress', Description: 'Target registration is in progress' };
  }
  const port = tg.healthCheck.port === 'traffic-port' ? target.port : Number(tg.healthCheck.port);
  if (tg.healthCheck.protocol === 'TCP') {
    const lbs = listened.map((l) => ctx.world.elbv2.loadBalancers[l.loadBalancerArn]).filter((lb) => lb !== undefined);
    const lbIps = all(ctx, 'network-interface')
      .filter((e) => lbs.some((lb) => lb.arn === e.attrs.ownerId))
      .map((e) => e.attrs.privateIp as string);
    const open = admits(
      ctx,
      instance!.attrs.securityGroupIds,
      port,
      lbs.flatMap((lb) => lb.securityGroups),
      lbIps,
    );
    return open ? { State: 'healthy' } : { State: 'unhealthy', Reason: 'Target.Timeout', Description: 'Request timed out' };
  }
  const readiness = instanceReadiness(ctx, target.id);
  if (readiness.httpCode !== undefined && matcherAccepts(tg.healthCheck.matcher, readiness.httpCode)) return { State: 'healthy' };
  const elb = readiness.elb ?? { reason: 'Target.FailedHealthChecks', description: 'Health checks failed' };
  return { State: 'unhealthy', Reason: elb.reason as TargetHealth['Reason'], Description: elb.description };
}

export const targetOperations: SdkOperations<ElasticLoadBalancingV2> = {
  RegisterTargets(ctx, input) {
    registerInstanceTargets(ctx, input.TargetGroupArn ?? '', input.Targets ?? []);
    return {};
  },

  DeregisterTargets(ctx, input) {
    deregisterInstanceTargets(ctx, input.TargetGroupArn ?? '', input.Targets ?? []);
    return {};
  },

  DescribeTargetHealth(ctx, input) {
    const tg = group(ctx, input.TargetGroupArn);
    const live = liveTargets(ctx, tg);
    const descriptions: TargetHealthDescription[] = [];
    if (input.Targets?.length) {
      for (const asked of input.Targets) {
        const t = live.find((x) => x.id === asked.Id);
        if (!t) {
          descriptions.push({
            Target: { Id: asked.Id, Port: asked.Port ?? tg.port },
            TargetHealth: { State: 'unused', Reason: 'Target.NotRegistered', Description: 'Target is not registered to the target group' },
          });
        } else descriptions.push(describeOne(ctx, tg, t));
      }
    } else descriptions.push(...live.map((t) => describeOne(ctx, tg, t)));
    return { TargetHealthDescriptions: descriptions };
  },
};

function describeOne(ctx: OperationContext, tg: SandboxTargetGroup, t: SandboxTarget): TargetHealthDescription {
  return {
    Target: { Id: t.id, Port: t.port },
    HealthCheckPort: tg.healthCheck.port === 'traffic-port' ? String(t.port) : tg.healthCheck.port,
    TargetHealth: targetHealth(ctx, tg, t),
  };
}
