import { awsError, type OperationContext } from './core.js';
import { all, put, type Ec2Resource } from './ec2.js';

/**
 * Network interfaces: whatever places itself in a subnet (a NAT gateway, an instance, and next a
 * load balancer, a database, a cache) does it through an ENI, and the ENI is what keeps its
 * subnet, its VPC and its security groups from being deleted. One model, one rule, as in AWS:
 * a delete fails with DependencyViolation while anything still stands on the resource.
 */

/** AWS's InterfaceType: `interface` for an instance's own, the owner's kind for requester-managed ones. */
export type InterfaceType = 'interface' | 'nat_gateway' | 'network_load_balancer';

export interface EniPlacement {
  subnet: Ec2Resource;
  /** The resource the ENI belongs to (released with it). */
  ownerId: string;
  interfaceType: InterfaceType;
  securityGroupIds?: string[];
  description: string;
}

/** A new ENI in the subnet, holding its next private address. */
export function placeEni(ctx: OperationContext, placement: EniPlacement): Ec2Resource {
  const { subnet } = placement;
  const prefix = (subnet.attrs.cidrBlock as string).split('.').slice(0, 3).join('.');
  const taken = all(ctx, 'network-interface').filter((e) => e.attrs.subnetId === subnet.id).length;
  return put(ctx, 'network-interface', 'eni', {}, 0, {
    subnetId: subnet.id,
    vpcId: subnet.attrs.vpcId,
    availabilityZone: subnet.attrs.availabilityZone,
    ownerId: placement.ownerId,
    interfaceType: placement.interfaceType,
    securityGroupIds: [...new Set(placement.securityGroupIds ?? [])],
    description: placement.description,
    privateIp: `${prefix}.${10 + taken}`,
  });
}

/**
 * The owner's ENIs go at `at` (when the owner is gone, or later: a load balancer's ENIs linger for
 * minutes after it is deleted). Until then they still hold their subnet and groups.
 */
export function releaseEnis(ctx: OperationContext, ownerId: string, at: number): void {
  for (const eni of all(ctx, 'network-interface')) {
    if (eni.attrs.ownerId === ownerId && eni.goneAt === undefined) eni.goneAt = at;
  }
}

function liveEnis(ctx: OperationContext): Ec2Resource[] {
  return all(ctx, 'network-interface').filter((e) => e.goneAt === undefined || ctx.now < e.goneAt);
}

/** THE rule for deleting a subnet, a VPC or a security group: nothing may still stand on it. */
export function refuseWhileInUse(ctx: OperationContext, r: Ec2Resource): void {
  if (r.kind === 'subnet' && liveEnis(ctx).some((e) => e.attrs.subnetId === r.id)) {
    throw awsError('DependencyViolation', `The subnet '${r.id}' has dependencies and cannot be deleted.`);
  }
  if (r.kind === 'vpc') {
    const inVpc = (kind: Ec2Resource['kind']) => all(ctx, kind).some((x) => x.attrs.vpcId === r.id);
    const blocked =
      liveEnis(ctx).some((e) => e.attrs.vpcId === r.id) ||
      inVpc('subnet') ||
      inVpc('internet-gateway') ||
      inVpc('security-group') ||
      inVpc('route-table');
    if (blocked) throw awsError('DependencyViolation', `The vpc '${r.id}' has dependencies and cannot be deleted.`);
  }
  if (r.kind === 'security-group') {
    const used = liveEnis(ctx).some((e) => (e.attrs.securityGroupIds as string[]).includes(r.id));
    const referenced = all(ctx, 'security-group').some(
      (g) => g.id !== r.id && (g.attrs.rules as Array<{ groupId?: string }>).some((rule) => rule.groupId === r.id),
    );
    if (used || referenced) throw awsError('DependencyViolation', `resource ${r.id} has a dependent object`);
  }
}
