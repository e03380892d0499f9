import type {
  Address,
  AttachmentStatus,
  EC2,
  InternetGateway,
  NatGateway,
  Route as SdkRoute,
  RouteTable,
  SecurityGroup,
  SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import ipaddr from 'ipaddr.js';
import { AWS_MINUTES, MINUTE } from '../aws/durations.js';
import { awsError, tagList, tagsFromSpecifications, type OperationContext, type SdkOperations, type Latency } from './core.js';
import { all, byId, create, describe, madeBy, state, type Association, type Ec2Resource } from './ec2.js';
import { placeEni, refuseWhileInUse, releaseEnis } from './network-interfaces.js';

/**
 * EC2's networking around the VPC: internet gateway, Elastic IPs, NAT gateways, route tables
 * and security groups, with the rules and quirks an installer has to live with.
 */

interface Route {
  destination: string;
  gatewayId?: string;
  natGatewayId?: string;
}
interface Rule {
  id: string;
  egress: boolean;
  protocol: string;
  fromPort?: number;
  toPort?: number;
  cidrIpv4?: string;
  cidrIpv6?: string;
  groupId?: string;
  description?: string;
}

/** Elastic IPs per region, as AWS sets it by default (Service Quotas and DescribeAccountAttributes answer it). */
export const ADDRESS_LIMIT = 5;

/** A NAT gateway still holding its address: anything but deleted or failed. */
function holdsAddress(nat: Ec2Resource | undefined, now: number): boolean {
  return Boolean(nat) && !['deleted', 'failed'].includes(state(nat!, now));
}

function gatewayOf(ctx: OperationContext, vpcId: string) {
  return all(ctx, 'internet-gateway').find((g) => g.attrs.vpcId === vpcId);
}

function natView(ctx: OperationContext, nat: Ec2Resource): NatGateway {
  const current = state(nat, ctx.now);
  return {
    NatGatewayId: nat.id,
    State: current as NatGateway['State'],
    SubnetId: nat.attrs.subnetId,
    VpcId: nat.attrs.vpcId,
    ConnectivityType: 'public',
    CreateTime: new Date(nat.createdAt),
    NatGatewayAddresses: nat.attrs.failed
      ? []
      : [
          {
            AllocationId: nat.attrs.allocationId,
            PublicIp: nat.attrs.publicIp,
            NetworkInterfaceId: nat.attrs.eniId,
            PrivateIp: nat.attrs.privateIp,
          },
        ],
    ...(nat.attrs.failed ? { FailureCode: nat.attrs.failed.code, FailureMessage: nat.attrs.failed.message } : {}),
    Tags: tagList(nat.tags),
  };
}

function addressView(ctx: OperationContext, eip: Ec2Resource): Address {
  const nat = eip.attrs.natGatewayId ? ctx.world.ec2[eip.attrs.natGatewayId] : undefined;
  const associated = holdsAddress(nat, ctx.now);
  const instance = eip.attrs.instanceId ? ctx.world.ec2[eip.attrs.instanceId] : undefined;
  return {
    AllocationId: eip.id,
    PublicIp: eip.attrs.publicIp,
    Domain: 'vpc',
    ...(associated ? { AssociationId: `eipassoc-${eip.id.slice(9)}`, NetworkInterfaceId: nat!.attrs.eniId } : {}),
    ...(instance
      ? {
          AssociationId: eip.attrs.associationId,
          InstanceId: instance.id,
          NetworkInterfaceId: instance.attrs.eniId,
          PrivateIpAddress: instance.attrs.privateIp,
        }
      : {}),
    Tags: tagList(eip.tags),
  };
}

function routeView(ctx: OperationContext, route: Route): SdkRoute {
  let active = true;
  if (route.natGatewayId) active = holdsAddress(ctx.world.ec2[route.natGatewayId], ctx.now);
  if (route.gatewayId && route.gatewayId !== 'local') active = Boolean(ctx.world.ec2[route.gatewayId]?.attrs.vpcId);
  return {
    DestinationCidrBlock: route.destination,
    ...(route.gatewayId ? { GatewayId: route.gatewayId } : {}),
    ...(route.natGatewayId ? { NatGatewayId: route.natGatewayId } : {}),
    State: active ? 'active' : 'blackhole',
    Origin: route.gatewayId === 'local' ? 'CreateRouteTable' : 'CreateRoute',
  };
}

function tableView(ctx: OperationContext, table: Ec2Resource): RouteTable {
  return {
    RouteTableId: table.id,
    VpcId: table.attrs.vpcId,
    OwnerId: ctx.world.accountId,
    Routes: (table.attrs.routes as Route[]).map((r) => routeView(ctx, r)),
    Associations: (table.attrs.associations as Association[]).map((a) => ({
      RouteTableAssociationId: a.id,
      RouteTableId: table.id,
      SubnetId: a.subnetId,
      Main: false,
      AssociationState: { State: 'associated' },
    })),
    Tags: tagList(table.tags),
  };
}

function ruleView(ctx: OperationContext, group: Ec2Resource, rule: Rule): SecurityGroupRule {
  return {
    SecurityGroupRuleId: rule.id,
    GroupId: group.id,
    GroupOwnerId: ctx.world.accountId,
    IsEgress: rule.egress,
    IpProtocol: rule.protocol,
    FromPort: rule.fromPort ?? -1,
    ToPort: rule.toPort ?? -1,
    ...(rule.cidrIpv4 ? { CidrIpv4: rule.cidrIpv4 } : {}),
    ...(rule.cidrIpv6 ? { CidrIpv6: rule.cidrIpv6 } : {}),
    ...(rule.groupId ? { ReferencedGroupInfo: { GroupId: rule.groupId, UserId: ctx.world.accountId } } : {}),
    ...(rule.description ? { Description: rule.description } : {}),
    Tags: [],
  };
}

/** AWS's grouping of rules in DescribeSecurityGroups: one permission per protocol and ports. */
function permissionsView(rules: Rule[]) {
  const grouped = new Map<
    string,
    { IpProtocol: string; FromPort?: number; ToPort?: number; IpRanges: object[]; Ipv6Ranges: object[]; UserIdGroupPairs: object[] }
  >();
  for (const rule of rules) {
    const key = `${rule.protocol}/${rule.fromPort}/${rule.toPort}`;
    const entry = grouped.get(key) ?? {
      IpProtocol: rule.protocol,
      FromPort: rule.fromPort,
      ToPort: rule.toPort,
      IpRanges: [],
      Ipv6Ranges: [],
      UserIdGroupPairs: [],
    };
    if (rule.cidrIpv4) entry.IpRanges.push({ CidrIp: rule.cidrIpv4, Description: rule.description });
    if (rule.cidrIpv6) entry.Ipv6Ranges.push({ CidrIpv6: rule.cidrIpv6, Description: rule.description });
    if (rule.groupId) entry.UserIdGroupPairs.push({ GroupId: rule.groupId, Description: rule.description });
    grouped.set(key, entry);
  }
  return [...grouped.values()];
}

function groupView(ctx: OperationContext, group: Ec2Resource): SecurityGroup {
  const rules = group.attrs.rules as Rule[];
  return {
    GroupId: group.id,
    GroupName: group.attrs.groupName,
    Description: group.attrs.description,
    VpcId: group.attrs.vpcId,
    OwnerId: ctx.world.accountId,
    IpPermissions: permissionsView(rules.filter((r) => !r.egress)),
    IpPermissionsEgress: permissionsView(rules.filter((r) => r.egress)),
    Tags: tagList(group.tags),
  };
}

interface Permission {
  IpProtocol?: string;
  FromPort?: number;
  ToPort?: number;
  IpRanges?: Array<{ CidrIp?: string; Description?: string }>;
  Ipv6Ranges?: Array<{ CidrIpv6?: string; Description?: string }>;
  UserIdGroupPairs?: Array<{ GroupId?: string; Description?: string }>;
}

/** One rule per source, as AWS stores them. */
function rulesFrom(ctx: OperationContext, group: Ec2Resource, permissions: Permission[] | undefined): Omit<Rule, 'id'>[] {
  const rules: Omit<Rule, 'id'>[] = [];
  for (const p of permissions ?? []) {
    const base = { egress: false, protocol: String(p.IpProtocol ?? '-1'), fromPort: p.FromPort, toPort: p.ToPort };
    for (const range of p.IpRanges ?? []) {
      try {
        ipaddr.IPv4.parseCIDR(range.CidrIp ?? '');
      } catch {
        throw awsError('InvalidParameterValue', `CIDR block ${range.CidrIp} is malformed`);
      }
      rules.push({ ...base, cidrIpv4: range.CidrIp, description: range.Description });
    }
    for (const range of p.Ipv6Ranges ?? []) {
      try {
        ipaddr.IPv6.parseCIDR(range.CidrIpv6 ?? '');
      } catch {
        throw awsError('InvalidParameterValue', `CIDR block ${range.CidrIpv6} is malformed`);
      }
      rules.push({ ...base, cidrIpv6: range.CidrIpv6, description: range.Description });
    }
    for (const pair of p.UserIdGroupPairs ?? []) {
      const other = ctx.world.ec2[pair.GroupId ?? ''];
      if (!other || other.kind !== 'security-group' || other.attrs.vpcId !== group.attrs.vpcId || ctx.lagging(other.id)) {
        throw awsError('InvalidGroup.NotFound', `The security group '${pair.GroupId}' does not exist in VPC '${group.attrs.vpcId}'`);
      }
      rules.push({ ...base, groupId: pair.GroupId, description: pair.Description });
    }
  }
  return rules;
}

function sameRule(a: Omit<Rule, 'id'>, b: Omit<Rule, 'id'>): boolean {
  return (
    a.egress === b.egress &&
    a.protocol === b.protocol &&
    a.fromPort === b.fromPort &&
    a.toPort === b.toPort &&
    a.cidrIpv4 === b.cidrIpv4 &&
    a.cidrIpv6 === b.cidrIpv6 &&
    a.groupId === b.groupId
  );
}

export const vpcNetwork: SdkOperations<EC2> = {
  // Internet gateway ------------------------------------------------------------------------
  CreateInternetGateway(ctx, input) {
    const gateway = create(ctx, 'internet-gateway', 'igw', tagsFromSpecifications(input.TagSpecifications, 'internet-gateway'), 0, {});
    return { InternetGateway: gatewayView(ctx, gateway) };
  },

  DescribeInternetGateways: (ctx, input) => ({
    InternetGateways: describe(ctx, 'internet-gateway', input.InternetGatewayIds, input.Filters).map((g) => gatewayView(ctx, g)),
  }),

  AttachInternetGateway(ctx, input) {
    const gateway = byId(ctx, 'internet-gateway', input.InternetGatewayId);
    const vpc = byId(ctx, 'vpc', input.VpcId);
    if (gateway.attrs.vpcId || gatewayOf(ctx, vpc.id)) {
      throw awsError(
        'Resource.AlreadyAssociated',
        `resource ${gateway.id} is already attached to network ${gateway.attrs.vpcId ?? vpc.id}`,
      );
    }
    gateway.attrs.vpcId = vpc.id;
    return {};
  },

  DetachInternetGateway(ctx, input) {
    const gateway = byId(ctx, 'internet-gateway', input.InternetGatewayId);
    if (!gateway.attrs.vpcId || gateway.attrs.vpcId !== input.VpcId) {
      throw awsError('Gateway.NotAttached', `resource ${gateway.id} is not attached to network ${input.VpcId}`);
    }
    const mapped = all(ctx, 'nat-gateway').some((n) => n.attrs.vpcId === input.VpcId && holdsAddress(n, ctx.now));
    if (mapped) {
      throw awsError(
        'DependencyViolation',
        `Network ${input.VpcId} has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.`,
      );
    }
    delete gateway.attrs.vpcId;
    return {};
  },

  DeleteInternetGateway(ctx, input) {
    const gateway = byId(ctx, 'internet-gateway', input.InternetGatewayId);
    if (gateway.attrs.vpcId)
      throw awsError('DependencyViolation', `The internetGateway '${gateway.id}' has dependencies and cannot be deleted.`);
    delete ctx.world.ec2[gateway.id];
    return {};
  },

  // Elastic IPs -----------------------------------------------------------------------------
  AllocateAddress(ctx, input) {
    const taken = all(ctx, 'elastic-ip');
    if (taken.length >= ADDRESS_LIMIT) throw awsError('AddressLimitExceeded', 'The maximum number of addresses has been reached.');
    const used = new Set(
      Object.values(ctx.world.ec2)
        .filter((r) => r.kind === 'elastic-ip')
        .map((r) => r.attrs.publicIp),
    );
    let n = 10;
    while (used.has(`203.0.113.${n}`)) n++;
    const eip = create(ctx, 'elastic-ip', 'eipalloc', tagsFromSpecifications(input.TagSpecifications, 'elastic-ip'), 0, {
      publicIp: `203.0.113.${n}`,
    });
    return { AllocationId: eip.id, PublicIp: eip.attrs.publicIp, Domain: 'vpc' };
  },

  /** The account's EC2 limits as EC2 itself states them (the fallback when Service Quotas is out of reach). */
  DescribeAccountAttributes(_ctx, input) {
    const attributes: Record<string, string> = {
      'supported-platforms': 'VPC',
      'vpc-max-elastic-ips': String(ADDRESS_LIMIT),
      'vpc-max-security-groups-per-interface': '5',
    };
    const named = input.AttributeNames?.length ? input.AttributeNames : Object.keys(attributes);
    const unknown = named.filter((n) => !(n in attributes));
    if (unknown.length) throw awsError('InvalidParameterValue', `Invalid attribute name: ${unknown.join(', ')}`);
    return {
      AccountAttributes: named.map((AttributeName) => ({
        AttributeName,
        AttributeValues: [{ AttributeValue: attributes[AttributeName]! }],
      })),
    };
  },

  DescribeAddresses: (ctx, input) => ({
    Addresses: describe(ctx, 'elastic-ip', input.AllocationIds, input.Filters).map((a) => addressView(ctx, a)),
  }),

  ReleaseAddress(ctx, input) {
    const eip = byId(ctx, 'elastic-ip', input.AllocationId);
    const nat = eip.attrs.natGatewayId ? ctx.world.ec2[eip.attrs.natGatewayId] : undefined;
    if (holdsAddress(nat, ctx.now) || eip.attrs.instanceId) {
      throw awsError('InvalidIPAddress.InUse', `Address ${eip.attrs.publicIp} is in use.`);
    }
    // AWS's quirk: for a while after its NAT gateway is gone, releasing is refused as AuthFailure.
    if (eip.attrs.releaseBlockedUntil !== undefined && ctx.now < eip.attrs.releaseBlockedUntil) {
      throw awsError('AuthFailure', 'You do not have permission to access the specified resource.');
    }
    delete ctx.world.ec2[eip.id];
    return {};
  },

  /** An instance's Elastic IP: only a running instance takes one; a second address replaces its first. */
  AssociateAddress(ctx, input) {
    const eip = byId(ctx, 'elastic-ip', input.AllocationId);
    if (!input.InstanceId && !input.NetworkInterfaceId) {
      throw awsError('MissingParameter', 'Either instance ID or network interface id must be specified');
    }
    if (!input.InstanceId) throw awsError('InvalidParameterValue', 'The sandbox associates addresses with instances only');
    const instance = byId(ctx, 'instance', input.InstanceId);
    const current = state(instance, ctx.now);
    if (current !== 'running') {
      throw awsError('IncorrectInstanceState', `The ${current} instance '${instance.id}' is not in a valid state for this operation.`);
    }
    if (holdsAddress(eip.attrs.natGatewayId ? ctx.world.ec2[eip.attrs.natGatewayId] : undefined, ctx.now)) {
      throw awsError(
        'Resource.AlreadyAssociated',
        `resource ${eip.id} is already associated with associate-id eipassoc-${eip.id.slice(9)}`,
      );
    }
    if (eip.attrs.instanceId === instance.id) return { AssociationId: eip.attrs.associationId };
    if (eip.attrs.instanceId && !input.AllowReassociation) {
      throw awsError('Resource.AlreadyAssociated', `resource ${eip.id} is already associated with associate-id ${eip.attrs.associationId}`);
    }
    for (const other of all(ctx, 'elastic-ip')) if (other.attrs.instanceId === instance.id) delete other.attrs.instanceId;
    eip.attrs.instanceId = instance.id;
    eip.attrs.associationId = ctx.newId('eipassoc');
    return { AssociationId: eip.attrs.associationId };
  },

  DisassociateAddress(ctx, input) {
    const eip = all(ctx, 'elastic-ip').find((a) => a.attrs.instanceId && a.attrs.associationId === input.AssociationId);
    if (!eip) throw awsError('InvalidAssociationID.NotFound', `The association ID '${input.AssociationId}' does not exist`);
    delete eip.attrs.instanceId;
    return {};
  },

  // NAT gateways ----------------------------------------------------------------------------
  CreateNatGateway(ctx, input) {
    const { id } = ctx.idempotent('CreateNatGateway', input.ClientToken, input, () => {
      const subnet = byId(ctx, 'subnet', input.SubnetId);
      const eip = byId(ctx, 'elastic-ip', input.AllocationId);
      if (holdsAddress(eip.attrs.natGatewayId ? ctx.world.ec2[eip.attrs.natGatewayId] : undefined, ctx.now)) {
        throw awsError('Resource.AlreadyAssociated', `Elastic IP address [${eip.id}] is already associated`);
      }
      const vpcId = subnet.attrs.vpcId as string;
      const failed = !gatewayOf(ctx, vpcId)
        ? { code: 'Gateway.NotAttached', message: `Network ${vpcId} has no Internet gateway attached` }
        : ctx.faults.failNatGateways
          ? { code: 'InternalError', message: 'An internal error occurred while creating the NAT gateway. Try again.' }
          : undefined;
      const nat = create(
        ctx,
        'nat-gateway',
        'nat',
        tagsFromSpecifications(input.TagSpecifications, 'natgateway'),
        AWS_MINUTES.natGateway.create,
        {
          subnetId: subnet.id,
          vpcId,
          allocationId: eip.id,
          publicIp: eip.attrs.publicIp,
          ...(failed ? { failed } : {}),
        },
      );
      if (failed) nat.goneAt = ctx.now + 60 * MINUTE;
      else {
        eip.attrs.natGatewayId = nat.id;
        const eni = placeEni(ctx, {
          subnet,
          ownerId: nat.id,
          interfaceType: 'nat_gateway',
          description: `Interface for NAT Gateway ${nat.id}`,
        });
        nat.attrs.eniId = eni.id;
        nat.attrs.privateIp = eni.attrs.privateIp;
      }
      return nat.id;
    });
    return { NatGateway: natView(ctx, madeBy(ctx, 'nat-gateway', id)), ClientToken: input.ClientToken };
  },

  DescribeNatGateways: (ctx, input) => ({
    NatGateways: describe(ctx, 'nat-gateway', input.NatGatewayIds, input.Filter).map((n) => natView(ctx, n)),
  }),

  DeleteNatGateway(ctx, input) {
    const nat = byId(ctx, 'nat-gateway', input.NatGatewayId);
    // A failed gateway is deleted when asked, sooner than AWS's own clean-up an hour later.
    if (nat.goneAt === undefined || (nat.attrs.failed && !nat.attrs.deleteRequested)) {
      nat.attrs.deleteRequested = true;
      nat.goneAt = ctx.now + AWS_MINUTES.natGateway.delete * MINUTE;
      releaseEnis(ctx, nat.id, nat.goneAt);
      const eip = ctx.world.ec2[nat.attrs.allocationId];
      if (eip) eip.attrs.releaseBlockedUntil = nat.goneAt + AWS_MINUTES.elasticIp.releaseBlockedAfterNat * MINUTE;
    }
    return { NatGatewayId: nat.id };
  },

  // Route tables ----------------------------------------------------------------------------
  CreateRouteTable(ctx, input) {
    const { id } = ctx.idempotent('CreateRouteTable', input.ClientToken, input, () => {
      const vpc = byId(ctx, 'vpc', input.VpcId);
      const tags = tagsFromSpecifications(input.TagSpecifications, 'route-table');
      const routes: Route[] = [{ destination: vpc.attrs.cidrBlock as string, gatewayId: 'local' }];
      return create(ctx, 'route-table', 'rtb', tags, 0, { vpcId: vpc.id, routes, associations: [] }).id;
    });
    return { RouteTable: tableView(ctx, madeBy(ctx, 'route-table', id)), ClientToken: input.ClientToken };
  },

  DescribeRouteTables: (ctx, input) => ({
    RouteTables: describe(ctx, 'route-table', input.RouteTableIds, input.Filters).map((t) => tableView(ctx, t)),
  }),

  CreateRoute(ctx, input) {
    const table = byId(ctx, 'route-table', input.RouteTableId);
    const routes = table.attrs.routes as Route[];
    if (routes.some((r) => r.destination === input.DestinationCidrBlock)) {
      throw awsError('RouteAlreadyExists', `The route identified by ${input.DestinationCidrBlock} already exists.`);
    }
    routes.push({ destination: input.DestinationCidrBlock!, ...checkTarget(ctx, table, input) });
    return { Return: true };
  },

  ReplaceRoute(ctx, input) {
    const table = byId(ctx, 'route-table', input.RouteTableId);
    const routes = table.attrs.routes as Route[];
    const index = routes.findIndex((r) => r.destination === input.DestinationCidrBlock);
    if (index < 0)
      throw awsError(
        'InvalidRoute.NotFound',
        `no route with destination-cidr-block ${input.DestinationCidrBlock} in route table ${table.id}`,
      );
    routes[index] = { destination: input.DestinationCidrBlock!, ...checkTarget(ctx, table, input) };
    return {};
  },

  AssociateRouteTable(ctx, input) {
    const table = byId(ctx, 'route-table', input.RouteTableId);
    const subnet = byId(ctx, 'subnet', input.SubnetId);
    if (subnet.attrs.vpcId !== table.attrs.vpcId) {
      throw awsError('InvalidParameterValue', `Route table ${table.id} and subnet ${subnet.id} belong to different networks`);
    }
    if (all(ctx, 'route-table').some((t) => (t.attrs.associations as Association[]).some((a) => a.subnetId === subnet.id))) {
      throw awsError(
        'Resource.AlreadyAssociated',
        `the specified association for route table ${table.id} conflicts with an existing association`,
      );
    }
    const association = { id: ctx.newId('rtbassoc'), subnetId: subnet.id };
    (table.attrs.associations as Association[]).push(association);
    return { AssociationId: association.id, AssociationState: { State: 'associated' } };
  },

  DisassociateRouteTable(ctx, input) {
    const table = all(ctx, 'route-table').find((t) => (t.attrs.associations as Association[]).some((a) => a.id === input.AssociationId));
    if (!table) throw awsError('InvalidAssociationID.NotFound', `The association ID '${input.AssociationId}' does not exist`);
    table.attrs.associations = (table.attrs.associations as Association[]).filter((a) => a.id !== input.AssociationId);
    return {};
  },

  DeleteRouteTable(ctx, input) {
    const table = byId(ctx, 'route-table', input.RouteTableId);
    if ((table.attrs.associations as Association[]).length) {
      throw awsError('DependencyViolation', `The routeTable '${table.id}' has dependencies and cannot be deleted.`);
    }
    delete ctx.world.ec2[table.id];
    return {};
  },

  // Security groups -------------------------------------------------------------------------
  CreateSecurityGroup(ctx, input) {
    const vpc = byId(ctx, 'vpc', input.VpcId);
    if (!input.GroupName || input.GroupName === 'default' || !input.Description) {
      throw awsError('InvalidParameterValue', `Invalid value '${input.GroupName}' for groupName, or a missing description`);
    }
    if (all(ctx, 'security-group').some((g) => g.attrs.vpcId === vpc.id && g.attrs.groupName === input.GroupName)) {
      throw awsError('InvalidGroup.Duplicate', `The security group '${input.GroupName}' already exists for VPC '${vpc.id}'`);
    }
    const tags = tagsFromSpecifications(input.TagSpecifications, 'security-group');
    const group = create(ctx, 'security-group', 'sg', tags, 0, {
      vpcId: vpc.id,
      groupName: input.GroupName,
      description: input.Description,
      rules: [],
    });
    (group.attrs.rules as Rule[]).push({ id: ctx.newId('sgr'), egress: true, protocol: '-1', cidrIpv4: '0.0.0.0/0' });
    return { GroupId: group.id, Tags: tagList(group.tags) };
  },

  DescribeSecurityGroups: (ctx, input) => ({
    SecurityGroups: describe(ctx, 'security-group', input.GroupIds, input.Filters).map((g) => groupView(ctx, g)),
  }),

  DescribeSecurityGroupRules(ctx, input) {
    const groupFilter = input.Filters?.find((f) => f.Name === 'group-id')?.Values;
    const other = input.Filters?.find((f) => f.Name !== 'group-id');
    if (other) throw awsError('InvalidParameterValue', `The filter '${other.Name}' is invalid`);
    const groups = groupFilter ? groupFilter.map((id) => byId(ctx, 'security-group', id)) : all(ctx, 'security-group');
    const rules = groups.flatMap((g) => (g.attrs.rules as Rule[]).map((r) => ruleView(ctx, g, r)));
    return {
      SecurityGroupRules: input.SecurityGroupRuleIds
        ? rules.filter((r) => input.SecurityGroupRuleIds!.includes(r.SecurityGroupRuleId!))
        : rules,
    };
  },

  AuthorizeSecurityGroupIngress(ctx, input) {
    const group = byId(ctx, 'security-group', input.GroupId);
    const wanted = rulesFrom(ctx, group, input.IpPermissions);
    const present = group.attrs.rules as Rule[];
    const duplicate = wanted.find((w) => present.some((p) => sameRule(p, w)));
    if (duplicate) {
      throw awsError(
        'InvalidPermission.Duplicate',
        `the specified rule "peer: ${duplicate.cidrIpv4 ?? duplicate.cidrIpv6 ?? duplicate.groupId}, ${duplicate.protocol.toUpperCase()}, from port: ${duplicate.fromPort}, to port: ${duplicate.toPort}, ALLOW" already exists`,
      );
    }
    const added = wanted.map((w) => ({ ...w, id: ctx.newId('sgr') }));
    present.push(...added);
    return { Return: true, SecurityGroupRules: added.map((r) => ruleView(ctx, group, r)) };
  },

  RevokeSecurityGroupIngress(ctx, input) {
    const group = byId(ctx, 'security-group', input.GroupId);
    const present = group.attrs.rules as Rule[];
    const doomed = input.SecurityGroupRuleIds
      ? input.SecurityGroupRuleIds.map((id) => present.find((r) => r.id === id && !r.egress))
      : rulesFrom(ctx, group, input.IpPermissions).map((w) => present.find((p) => sameRule(p, w)));
    if (doomed.some((r) => !r)) throw awsError('InvalidPermission.NotFound', 'The specified rule does not exist in this security group.');
    group.attrs.rules = present.filter((r) => !doomed.includes(r));
    return { Return: true };
  },

  DeleteSecurityGroup(ctx, input) {
    const group = byId(ctx, 'security-group', input.GroupId);
    refuseWhileInUse(ctx, group);
    delete ctx.world.ec2[group.id];
    return {};
  },
};

function gatewayView(ctx: OperationContext, gateway: Ec2Resource): InternetGateway {
  return {
    InternetGatewayId: gateway.id,
    OwnerId: ctx.world.accountId,
    // EC2 says 'available' for an attached internet gateway, a value the SDK's AttachmentStatus lacks.
    Attachments: gateway.attrs.vpcId ? [{ VpcId: gateway.attrs.vpcId, State: 'available' as AttachmentStatus }] : [],
    Tags: tagList(gateway.tags),
  };
}

function checkTarget(ctx: OperationContext, table: Ec2Resource, input: { GatewayId?: string; NatGatewayId?: string }): Partial<Route> {
  if (input.GatewayId) {
    const gateway = byId(ctx, 'internet-gateway', input.GatewayId);
    if (gateway.attrs.vpcId !== table.attrs.vpcId) {
      throw awsError('InvalidParameterValue', `route table ${table.id} and network gateway ${gateway.id} belong to different networks`);
    }
    return { gatewayId: gateway.id };
  }
  if (input.NatGatewayId) {
    const nat = ctx.world.ec2[input.NatGatewayId];
    if (
      !nat ||
      nat.kind !== 'nat-gateway' ||
      nat.attrs.vpcId !== table.attrs.vpcId ||
      ['failed', 'deleting', 'deleted'].includes(state(nat, ctx.now)) ||
      ctx.lagging(nat.id)
    ) {
      throw awsError('InvalidNatGatewayID.NotFound', `The natGateway ID '${input.NatGatewayId}' does not exist`);
    }
    return { natGatewayId: nat.id };
  }
  throw awsError('InvalidParameterValue', 'a route needs a target');
}

/** Synchronous changes take the table's time for networking changes; addresses a little less. */
export const vpcNetworkLatency: Latency<'ec2'> = {
  CreateInternetGateway: AWS_MINUTES.network.create,
  AttachInternetGateway: AWS_MINUTES.network.create,
  DetachInternetGateway: AWS_MINUTES.network.delete,
  DeleteInternetGateway: AWS_MINUTES.network.delete,
  AllocateAddress: AWS_MINUTES.elasticIp.create,
  ReleaseAddress: AWS_MINUTES.elasticIp.delete,
  AssociateAddress: AWS_MINUTES.elasticIp.create,
  DisassociateAddress: AWS_MINUTES.elasticIp.delete,
  CreateRouteTable: AWS_MINUTES.network.create,
  CreateRoute: AWS_MINUTES.network.create,
  ReplaceRoute: AWS_MINUTES.network.create,
  AssociateRouteTable: AWS_MINUTES.network.create,
  DisassociateRouteTable: AWS_MINUTES.network.delete,
  DeleteRouteTable: AWS_MINUTES.network.delete,
  CreateSecurityGroup: AWS_MINUTES.network.create,
  AuthorizeSecurityGroupIngress: AWS_MINUTES.network.create,
  RevokeSecurityGroupIngress: AWS_MINUTES.network.delete,
  DeleteSecurityGroup: AWS_MINUTES.network.delete,
};
