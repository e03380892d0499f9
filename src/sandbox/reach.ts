import ipaddr from 'ipaddr.js';
import type { OperationContext } from './core.js';
import { all, state, type Ec2Resource } from './ec2.js';

/**
 * What an instance can reach and read, as the boot simulator judges it from the account: its
 * role's policies (IAM's Allow and Deny), security-group rules, a NAT route to the internet.
 */

export interface Role {
  name: string;
  policies: string[];
}

export function roleOf(ctx: OperationContext, instance: Ec2Resource): Role | undefined {
  const profile = instance.attrs.instanceProfileName ? ctx.world.iam.instanceProfiles[instance.attrs.instanceProfileName] : undefined;
  const role = profile?.roles[0] ? ctx.world.iam.roles[profile.roles[0]] : undefined;
  if (!role) return undefined;
  const documents = role.attachedPolicies.flatMap((policyArn) => {
    const policy = Object.values(ctx.world.iam.policies).find((p) => p.arn === policyArn);
    return policy ? [policy.versions[policy.defaultVersion]?.document ?? '{}'] : [];
  });
  return { name: role.name, policies: documents };
}

/** IAM's evaluation for one action on one resource: an explicit Deny wins, else some Allow is needed. */
export function roleMay(documents: string[], action: string, resource: string): boolean {
  let allowed = false;
  for (const document of documents) {
    let parsed: { Statement?: unknown };
    try {
      parsed = JSON.parse(decodeURIComponent(document)) as { Statement?: unknown };
    } catch {
      continue;
    }
    const statements = (Array.isArray(parsed.Statement) ? parsed.Statement : [parsed.Statement]) as Array<Record<string, unknown>>;
    for (const st of statements) {
      if (!st) continue;
      const actions = ([] as unknown[]).concat(st.Action ?? []).map(String);
      const resources = ([] as unknown[]).concat(st.Resource ?? []).map(String);
      const hits = actions.some((a) => wildcard(a, true).test(action)) && resources.some((r) => wildcard(r, false).test(resource));
      if (!hits) continue;
      if (st.Effect === 'Deny') return false;
      if (st.Effect === 'Allow') allowed = true;
    }
  }
  return allowed;
}

export function wildcard(pattern: string, ignoreCase: boolean): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, ignoreCase ? 'i' : '');
}

/** Whether a security group rule lets TCP `port` in from one of `fromGroups` or from `fromIp`. */
export function admits(ctx: OperationContext, groupIds: string[], port: number, fromGroups: string[], fromIps: string[]): boolean {
  return groupIds.some((gid) => {
    const group = ctx.world.ec2[gid];
    const rules = (group?.attrs.rules ?? []) as Array<{
      egress: boolean;
      protocol: string;
      fromPort?: number;
      toPort?: number;
      cidrIpv4?: string;
      groupId?: string;
    }>;
    return rules.some((r) => {
      if (r.egress) return false;
      const tcp = r.protocol === '-1' || r.protocol === 'tcp' || r.protocol === '6';
      const inRange = r.protocol === '-1' || ((r.fromPort ?? 0) <= port && port <= (r.toPort ?? 65535));
      if (!tcp || !inRange) return false;
      if (r.groupId) return fromGroups.includes(r.groupId);
      if (r.cidrIpv4) return fromIps.some((ip) => inCidr(ip, r.cidrIpv4!));
      return false;
    });
  });
}

function inCidr(ip: string, cidr: string): boolean {
  try {
    return ipaddr.IPv4.parse(ip).match(ipaddr.IPv4.parseCIDR(cidr));
  } catch {
    return false;
  }
}

/** A CIDR list covers a network when one of its blocks contains it whole. */
export function covers(list: string[], cidr: string): boolean {
  try {
    const [address, bits] = ipaddr.IPv4.parseCIDR(cidr);
    return list.some((entry) => {
      try {
        const [a, b] = ipaddr.IPv4.parseCIDR(entry);
        return b <= bits && address.match(a, b);
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** A route to the internet through an available NAT gateway, from the instance's subnet. */
export function reachesInternetByNat(ctx: OperationContext, instance: Ec2Resource): boolean {
  const tables = all(ctx, 'route-table').filter((t) =>
    ((t.attrs.associations ?? []) as Array<{ subnetId: string }>).some((a) => a.subnetId === instance.attrs.subnetId),
  );
  return tables.some((t) =>
    ((t.attrs.routes ?? []) as Array<{ destination: string; natGatewayId?: string }>).some((r) => {
      if (r.destination !== '0.0.0.0/0' || !r.natGatewayId) return false;
      const nat = ctx.world.ec2[r.natGatewayId];
      return Boolean(nat) && state(nat!, ctx.now) === 'available';
    }),
  );
}
