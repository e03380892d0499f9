import { z } from 'zod';
import type { EC2, IpPermission, SecurityGroupRule } from '@aws-sdk/client-ec2';
import { AWS_MINUTES } from '../aws/durations.js';
import { errorCode, unlessNotFound } from '../aws/errors.js';
import type { InstallConfig } from '../config/schema.js';
import { defineStep, type StepContext } from '../engine/step.js';
import { SECURITY_GROUP, discoverOurs, ec2Seen, findOurs, tagSpec, whenVisible, deleteWhenFree } from './ec2-common.js';
import { ownership } from './ownership.js';
import { SECURITY_GROUP_ROLES, guideNames, type SecurityGroupRole } from './names.js';
import { vpc } from './vpc.js';

export type RuleSource = { cidr: string } | { ipv6: string } | { group: SecurityGroupRole };
export interface IngressRule {
  port: number;
  from: RuleSource;
  description: string;
}

const DESCRIPTIONS: Record<SecurityGroupRole, string> = {
  loadbalancer: 'GitLab load balancer and GitLab instances: HTTP, HTTPS, Git over SSH',
  rds: 'GitLab RDS PostgreSQL: 5432 from the GitLab instances',
  redis: 'GitLab ElastiCache Redis: 6379 from the GitLab instances',
  bastion: 'GitLab bastion hosts: SSH from the trusted range',
  gitaly: 'GitLab Gitaly: 8075 from the GitLab instances, SSH from the bastions',
};

/** Where SSH from outside may come from: the trusted range, the whole internet only if asked. */
function outsideSsh(config: InstallConfig): RuleSource[] {
  if (config.sshFromAnywhere) return [{ cidr: '0.0.0.0/0' }, { ipv6: '::/0' }];
  return config.sshCidr ? [{ cidr: config.sshCidr }] : [];
}

/** Every inbound rule of the guide's groups, as a pure function of the answers. */
export function securityGroupRules(config: InstallConfig): Record<SecurityGroupRole, IngressRule[]> {
  const ssh = outsideSsh(config);
  const web = (port: number, name: string): IngressRule[] => [
    { port, from: { cidr: '0.0.0.0/0' }, description: `${name} from anywhere` },
    { port, from: { ipv6: '::/0' }, description: `${name} from anywhere (IPv6)` },
  ];
  return {
    loadbalancer: [
      ...web(80, 'HTTP'),
      ...web(443, 'HTTPS'),
      ...ssh.map((from) => ({ port: 22, from, description: 'Git over SSH from the trusted range' })),
      // The guide forgets this one; operators need it to reach the instances from a bastion.
      { port: 22, from: { group: 'bastion' }, description: 'SSH from the bastion hosts' },
      // And this one: the load balancer shares this group with the instances, and its Git over SSH
      // traffic and the SSH target group's health checks come from it. Without it the SSH targets
      // fail, and with ELB health checks the Auto Scaling group replaces its nodes in a loop.
      { port: 22, from: { group: 'loadbalancer' }, description: 'Git over SSH and its health checks from the load balancer' },
    ],
    rds: [{ port: 5432, from: { group: 'loadbalancer' }, description: 'PostgreSQL from the GitLab instances' }],
    redis: [{ port: 6379, from: { group: 'loadbalancer' }, description: 'Redis from the GitLab instances' }],
    bastion: ssh.map((from) => ({ port: 22, from, description: 'SSH from the trusted range' })),
    gitaly: [
      { port: 8075, from: { group: 'loadbalancer' }, description: 'Gitaly from the GitLab instances' },
      { port: 22, from: { group: 'bastion' }, description: 'SSH from the bastion hosts' },
    ],
  };
}

function matches(rule: IngressRule, existing: SecurityGroupRule, ids: Record<string, string>): boolean {
  if (existing.IsEgress || existing.IpProtocol !== 'tcp' || existing.FromPort !== rule.port || existing.ToPort !== rule.port) return false;
  if ('cidr' in rule.from) return existing.CidrIpv4 === rule.from.cidr;
  if ('ipv6' in rule.from) return existing.CidrIpv6 === rule.from.ipv6;
  return existing.ReferencedGroupInfo?.GroupId === ids[rule.from.group];
}

function permission(rule: IngressRule, ids: Record<string, string>): IpPermission {
  const base = { IpProtocol: 'tcp', FromPort: rule.port, ToPort: rule.port };
  if ('cidr' in rule.from) return { ...base, IpRanges: [{ CidrIp: rule.from.cidr, Description: rule.description }] };
  if ('ipv6' in rule.from) return { ...base, Ipv6Ranges: [{ CidrIpv6: rule.from.ipv6, Description: rule.description }] };
  return { ...base, UserIdGroupPairs: [{ GroupId: ids[rule.from.group]!, Description: rule.description }] };
}

async function rulesOf(ctx: StepContext, ec2: EC2, groupId: string): Promise<SecurityGroupRule[]> {
  const found = await whenVisible(ctx, `security group ${groupId}`, () =>
    ec2.describeSecurityGroupRules({ Filters: [{ Name: 'group-id', Values: [groupId] }] }),
  );
  return found.SecurityGroupRules ?? [];
}

async function ensureGroup(ctx: StepContext, ec2: EC2, role: SecurityGroupRole, vpcId: string, existingByName: Map<string, string>) {
  const name = guideNames(ctx.deployment).securityGroup(role);
  let groupId = existingByName.get(name);
  if (!groupId) {
    try {
      groupId = (
        await whenVisible(ctx, `VPC ${vpcId}`, () =>
          ec2.createSecurityGroup({
            GroupName: name,
            Description: DESCRIPTIONS[role],
            VpcId: vpcId,
            TagSpecifications: tagSpec(ctx, 'security-group', name),
          }),
        )
      ).GroupId!;
    } catch (err) {
      if (errorCode(err) === 'InvalidGroup.Duplicate') {
        throw new Error(
          `a security group named ${name} already exists in VPC ${vpcId} without this deployment's tags; rename or remove it and resume`,
        );
      }
      throw err;
    }
  }
  await ctx.record({ type: SECURITY_GROUP.type, id: groupId, name });
  return groupId;
}

/**
 * Guide: the security groups of "Load Balancer", "RDS Security Group", "Create a Redis Security
 * Group", the bastion hosts and Gitaly, with their inbound rules.
 */
export const securityGroups = defineStep({
  id: 'security-groups',
  title: 'Security groups',
  needs: [vpc],
  minutes: 2 * AWS_MINUTES.network.create,
  outputs: z.object({ groupIds: z.record(z.enum(SECURITY_GROUP_ROLES), z.string()) }),
  resources: (config) =>
    SECURITY_GROUP_ROLES.map((role) => ({ type: SECURITY_GROUP.type, name: guideNames(config.deployment).securityGroup(role) })),

  async create(ctx) {
    const ec2 = await ctx.aws.ec2();
    const { vpcId } = ctx.output('vpc');
    const existing = await findOurs(ctx, SECURITY_GROUP);
    const byName = new Map(existing.map((g) => [g.GroupName!, g.GroupId!]));
    const ids = Object.fromEntries(
      await ctx.each(SECURITY_GROUP_ROLES, async (role) => [role, await ensureGroup(ctx, ec2, role, vpcId, byName)] as const),
    ) as Record<SecurityGroupRole, string>;

    const wanted = securityGroupRules(ctx.config);
    await ctx.each(SECURITY_GROUP_ROLES, async (role) => {
      const present = await rulesOf(ctx, ec2, ids[role]);
      const missing = wanted[role].filter((rule) => !present.some((p) => matches(rule, p, ids)));
      if (missing.length === 0) return;
      await whenVisible(ctx, `the groups referenced by ${role}`, () =>
        ec2.authorizeSecurityGroupIngress({ GroupId: ids[role], IpPermissions: missing.map((rule) => permission(rule, ids)) }),
      );
    });
    return { groupIds: ids };
  },

  async verify(ctx, outputs) {
    const found = await findOurs(ctx, SECURITY_GROUP);
    return Object.values(outputs.groupIds).every((id) => found.some((g) => g.GroupId === id));
  },

  discover: discoverOurs(SECURITY_GROUP),

  async destroy(ctx, resources) {
    const ec2 = await ctx.aws.ec2();
    const owner = ownership(ctx);
    // Rules cannot be tagged: a group's rules are ours when the group is, and only then revoked.
    const groups: typeof resources = [];
    for (const ref of resources.filter((r) => r.type === SECURITY_GROUP.type)) {
      if (await owner.ours(ref, () => ec2Seen(ctx, SECURITY_GROUP, ref.id))) groups.push(ref);
    }
    // Groups that reference each other cannot be deleted: revoke the cross-references first.
    for (const group of groups) {
      let rules: SecurityGroupRule[];
      try {
        rules = (await ec2.describeSecurityGroupRules({ Filters: [{ Name: 'group-id', Values: [group.id] }] })).SecurityGroupRules ?? [];
      } catch (err) {
        if (errorCode(err).includes('NotFound')) continue;
        throw err;
      }
      const references = rules.filter((r) => !r.IsEgress && r.ReferencedGroupInfo?.GroupId);
      if (references.length) {
        await unlessNotFound(() =>
          ec2.revokeSecurityGroupIngress({ GroupId: group.id, SecurityGroupRuleIds: references.map((r) => r.SecurityGroupRuleId!) }),
        );
      }
    }
    await ctx.each(groups, async (group) => {
      // ENIs of RDS, ElastiCache, the load balancer and instances take minutes to let go.
      await deleteWhenFree(ctx, `security group ${group.name ?? group.id}`, () => ec2.deleteSecurityGroup({ GroupId: group.id }));
      await ctx.forget(group);
    });
    return owner.result();
  },
});
