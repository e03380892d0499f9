import type { EC2, RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAwsSession, type AwsSession } from '../src/aws/clients.js';
import { classify, errorCode } from '../src/aws/errors.js';
import { AWS_MINUTES, MINUTE } from '../src/aws/durations.js';
import { sandboxFixtures, failure, ubuntuImage } from './sandbox-fixtures.js';

/**
 * What test/sandbox-vpc-network.test.ts leaves out: instances holding security groups, the
 * filters the steps find their resources by, and eventual consistency for the new kinds.
 * Driven through the real SDK clients.
 */
const REGION = 'us-west-2';
const { stateDir, keep } = sandboxFixtures('gitlab-aws-network-');

beforeEach(() => {
  process.env.GITLAB_AWS_SANDBOX_FAULTS = JSON.stringify({ consistencyLag: 0 });
});
afterEach(async () => {
  delete process.env.GITLAB_AWS_SANDBOX_FAULTS;
});

/** A sandbox session; it reads GITLAB_AWS_SANDBOX_FAULTS as it is created. */
async function session(): Promise<AwsSession> {
  const dir = await stateDir();
  const created = await createAwsSession({ region: REGION, sandbox: { stateDir: dir } });
  keep(created);
  return created;
}

const tagged = (resourceType: string, name: string) => [{ ResourceType: resourceType, Tags: [{ Key: 'Name', Value: name }] }] as never;

async function vpcWithSubnet(ec2: EC2, cidr = '10.0.0.0/16', subnetCidr = '10.0.0.0/24') {
  const vpcId = (await ec2.createVpc({ CidrBlock: cidr })).Vpc!.VpcId!;
  const subnetId = (await ec2.createSubnet({ VpcId: vpcId, CidrBlock: subnetCidr, AvailabilityZone: `${REGION}a` })).Subnet!.SubnetId!;
  return { vpcId, subnetId };
}

const launch = (subnetId: string, SecurityGroupIds?: string[]): RunInstancesCommandInput => ({
  ImageId: ubuntuImage(REGION),
  InstanceType: 't3.micro',
  MinCount: 1,
  MaxCount: 1,
  SubnetId: subnetId,
  SecurityGroupIds,
});

describe('sandbox networking: instances, filters, eventual consistency', () => {
  it('launches instances only into security groups of the subnet VPC, and keeps a group while an instance uses it', async () => {
    const aws = await session();
    const ec2 = await aws.ec2();
    const { vpcId, subnetId } = await vpcWithSubnet(ec2);
    const other = await vpcWithSubnet(ec2, '10.1.0.0/16', '10.1.0.0/24');
    const web = (await ec2.createSecurityGroup({ GroupName: 'web', Description: 'web', VpcId: vpcId })).GroupId!;
    const elsewhere = (await ec2.createSecurityGroup({ GroupName: 'web', Description: 'web', VpcId: other.vpcId })).GroupId!;

    const missing = await failure(ec2.runInstances(launch(subnetId, ['sg-0123456789abcdef0'])));
    expect(errorCode(missing)).toBe('InvalidGroup.NotFound');
    expect(errorCode(await failure(ec2.runInstances(launch(subnetId, [elsewhere]))))).toBe('InvalidGroup.NotFound');
    expect((await ec2.describeInstances({})).Reservations).toEqual([]);

    const instanceId = (await ec2.runInstances(launch(subnetId, [web]))).Instances![0]!.InstanceId!;
    const described = (await ec2.describeInstances({ InstanceIds: [instanceId] })).Reservations![0]!.Instances![0]!;
    expect(described.SecurityGroups).toEqual([{ GroupId: web, GroupName: 'web' }]);
    const byGroup = await ec2.describeInstances({ Filters: [{ Name: 'instance.group-id', Values: [web] }] });
    expect(byGroup.Reservations!.map((r) => r.Instances![0]!.InstanceId)).toEqual([instanceId]);

    const inUse = await failure(ec2.deleteSecurityGroup({ GroupId: web }));
    expect(errorCode(inUse)).toBe('DependencyViolation');
    expect(classify(inUse)).toBe('dependency');
    await ec2.terminateInstances({ InstanceIds: [instanceId] });
    // Shutting down still holds the group; terminated does not.
    expect(errorCode(await failure(ec2.deleteSecurityGroup({ GroupId: web })))).toBe('DependencyViolation');
    await aws.clock.sleep(AWS_MINUTES.ec2Instance.delete * MINUTE);
    await ec2.deleteSecurityGroup({ GroupId: web });
    expect((await ec2.describeSecurityGroups({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] })).SecurityGroups).toEqual([]);
  });

  it('finds internet gateways, addresses and NAT gateways by the filters the steps use', async () => {
    const aws = await session();
    const ec2 = await aws.ec2();
    const { vpcId, subnetId } = await vpcWithSubnet(ec2);
    const bare = await vpcWithSubnet(ec2, '10.1.0.0/16', '10.1.0.0/24');

    const igw = (await ec2.createInternetGateway({ TagSpecifications: tagged('internet-gateway', 'gw') })).InternetGateway!
      .InternetGatewayId!;
    const spare = (await ec2.createInternetGateway({})).InternetGateway!.InternetGatewayId!;
    await ec2.attachInternetGateway({ InternetGatewayId: igw, VpcId: vpcId });
    const gateways = async (Filters: Array<{ Name: string; Values: string[] }>) =>
      ((await ec2.describeInternetGateways({ Filters })).InternetGateways ?? []).map((g) => g.InternetGatewayId).sort();
    expect(await gateways([{ Name: 'attachment.vpc-id', Values: [vpcId] }])).toEqual([igw]);
    expect(await gateways([{ Name: 'tag:Name', Values: ['gw'] }])).toEqual([igw]);
    expect(await gateways([{ Name: 'tag-key', Values: ['Name'] }])).toEqual([igw]);
    expect(await gateways([{ Name: 'internet-gateway-id', Values: [spare] }])).toEqual([spare]);
    expect((await ec2.describeInternetGateways({ InternetGatewayIds: [igw] })).InternetGateways![0]!.Attachments).toEqual([
      { VpcId: vpcId, State: 'available' },
    ]);

    const a = await ec2.allocateAddress({ Domain: 'vpc', TagSpecifications: tagged('elastic-ip', 'nat-a') });
    const b = await ec2.allocateAddress({ Domain: 'vpc', TagSpecifications: tagged('elastic-ip', 'nat-b') });
    expect(a.PublicIp).not.toBe(b.PublicIp);
    const addresses = async (Filters: Array<{ Name: string; Values: string[] }>) =>
      ((await ec2.describeAddresses({ Filters })).Addresses ?? []).map((x) => x.AllocationId).sort();
    expect(await addresses([{ Name: 'tag:Name', Values: ['nat-a'] }])).toEqual([a.AllocationId]);
    expect(await addresses([{ Name: 'public-ip', Values: [b.PublicIp!] }])).toEqual([b.AllocationId]);
    expect(await addresses([{ Name: 'allocation-id', Values: [a.AllocationId!] }])).toEqual([a.AllocationId]);
    expect(await addresses([{ Name: 'domain', Values: ['vpc'] }])).toEqual([a.AllocationId, b.AllocationId].sort());

    const working = (
      await ec2.createNatGateway({ SubnetId: subnetId, AllocationId: a.AllocationId, TagSpecifications: tagged('natgateway', 'nat-a') })
    ).NatGateway!;
    expect(working.State).toBe('pending');
    expect(working.NatGatewayAddresses![0]).toMatchObject({ AllocationId: a.AllocationId, PublicIp: a.PublicIp });
    // No internet gateway in the bare VPC: AWS accepts the call, then the gateway fails.
    const failing = (await ec2.createNatGateway({ SubnetId: bare.subnetId, AllocationId: b.AllocationId })).NatGateway!;
    await aws.clock.sleep(AWS_MINUTES.natGateway.create * MINUTE);

    // DescribeNatGateways takes `Filter`, not `Filters`.
    const nats = async (Filter: Array<{ Name: string; Values: string[] }>) =>
      ((await ec2.describeNatGateways({ Filter })).NatGateways ?? []).map((n) => n.NatGatewayId).sort();
    expect(await nats([{ Name: 'state', Values: ['available'] }])).toEqual([working.NatGatewayId]);
    expect(await nats([{ Name: 'state', Values: ['failed'] }])).toEqual([failing.NatGatewayId]);
    expect(
      await nats([
        { Name: 'state', Values: ['pending', 'available'] },
        { Name: 'vpc-id', Values: [bare.vpcId] },
      ]),
    ).toEqual([]);
    expect(await nats([{ Name: 'subnet-id', Values: [subnetId] }])).toEqual([working.NatGatewayId]);
    expect(await nats([{ Name: 'vpc-id', Values: [bare.vpcId] }])).toEqual([failing.NatGatewayId]);
    expect(await nats([{ Name: 'tag:Name', Values: ['nat-a'] }])).toEqual([working.NatGatewayId]);
    expect(await nats([{ Name: 'nat-gateway-id', Values: [failing.NatGatewayId!] }])).toEqual([failing.NatGatewayId]);

    // The working gateway holds its address, the failed one does not.
    const [held, free] = (await ec2.describeAddresses({ AllocationIds: [a.AllocationId!, b.AllocationId!] })).Addresses!;
    expect(held!.AssociationId).toMatch(/^eipassoc-/);
    expect(held!.NetworkInterfaceId).toBe(working.NatGatewayAddresses![0]!.NetworkInterfaceId);
    expect(free!.AssociationId).toBeUndefined();

    for (const call of [
      ec2.describeNatGateways({ Filter: [{ Name: 'no-such-filter', Values: ['x'] }] }),
      ec2.describeAddresses({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] }),
      ec2.describeInternetGateways({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] }),
    ]) {
      expect(errorCode(await failure(call))).toBe('InvalidParameterValue');
    }
  });

  it('finds route tables and security groups by VPC, association, name and tag', async () => {
    const aws = await session();
    const ec2 = await aws.ec2();
    const { vpcId, subnetId } = await vpcWithSubnet(ec2);
    const other = await vpcWithSubnet(ec2, '10.1.0.0/16', '10.1.0.0/24');

    const publicTable = (await ec2.createRouteTable({ VpcId: vpcId, TagSpecifications: tagged('route-table', 'public') })).RouteTable!;
    const otherTable = (await ec2.createRouteTable({ VpcId: other.vpcId })).RouteTable!;
    expect(publicTable.Routes).toEqual([
      { DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local', State: 'active', Origin: 'CreateRouteTable' },
    ]);
    expect(publicTable.Associations).toEqual([]);
    const associationId = (await ec2.associateRouteTable({ RouteTableId: publicTable.RouteTableId, SubnetId: subnetId })).AssociationId!;

    const tables = async (Filters: Array<{ Name: string; Values: string[] }>) =>
      ((await ec2.describeRouteTables({ Filters })).RouteTables ?? []).map((t) => t.RouteTableId).sort();
    expect(await tables([{ Name: 'vpc-id', Values: [other.vpcId] }])).toEqual([otherTable.RouteTableId]);
    expect(await tables([{ Name: 'association.subnet-id', Values: [subnetId] }])).toEqual([publicTable.RouteTableId]);
    expect(await tables([{ Name: 'association.route-table-association-id', Values: [associationId] }])).toEqual([publicTable.RouteTableId]);
    expect(await tables([{ Name: 'route-table-id', Values: [otherTable.RouteTableId!] }])).toEqual([otherTable.RouteTableId]);
    expect(await tables([{ Name: 'tag:Name', Values: ['public'] }])).toEqual([publicTable.RouteTableId]);
    expect((await ec2.describeRouteTables({ RouteTableIds: [publicTable.RouteTableId!] })).RouteTables![0]!.Associations).toEqual([
      {
        RouteTableAssociationId: associationId,
        RouteTableId: publicTable.RouteTableId,
        SubnetId: subnetId,
        Main: false,
        AssociationState: { State: 'associated' },
      },
    ]);

    const app = (
      await ec2.createSecurityGroup({
        GroupName: 'app',
        Description: 'app',
        VpcId: vpcId,
        TagSpecifications: tagged('security-group', 'app'),
      })
    ).GroupId!;
    const sameName = (await ec2.createSecurityGroup({ GroupName: 'app', Description: 'app elsewhere', VpcId: other.vpcId })).GroupId!;
    const groups = async (Filters: Array<{ Name: string; Values: string[] }>) =>
      ((await ec2.describeSecurityGroups({ Filters })).SecurityGroups ?? []).map((g) => g.GroupId).sort();
    expect(await groups([{ Name: 'group-name', Values: ['app'] }])).toEqual([app, sameName].sort());
    expect(
      await groups([
        { Name: 'group-name', Values: ['app'] },
        { Name: 'vpc-id', Values: [vpcId] },
      ]),
    ).toEqual([app]);
    expect(await groups([{ Name: 'group-id', Values: [sameName] }])).toEqual([sameName]);
    expect(await groups([{ Name: 'tag:Name', Values: ['app'] }])).toEqual([app]);
    expect(errorCode(await failure(ec2.describeSecurityGroups({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] })))).toBe(
      'InvalidParameterValue',
    );
    expect(errorCode(await failure(ec2.describeRouteTables({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] })))).toBe(
      'InvalidParameterValue',
    );

    // Two sources on one port are one permission in DescribeSecurityGroups and two rules below it.
    await ec2.authorizeSecurityGroupIngress({
      GroupId: app,
      IpPermissions: [
        { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '10.0.0.0/16' }, { CidrIp: '192.168.0.0/24' }] },
      ],
    });
    const group = (await ec2.describeSecurityGroups({ GroupIds: [app] })).SecurityGroups![0]!;
    expect(group.IpPermissions).toHaveLength(1);
    expect(group.IpPermissions![0]!.IpRanges!.map((r) => r.CidrIp)).toEqual(['10.0.0.0/16', '192.168.0.0/24']);
    const rules = (await ec2.describeSecurityGroupRules({ Filters: [{ Name: 'group-id', Values: [app] }] })).SecurityGroupRules!;
    expect(rules.filter((r) => !r.IsEgress).map((r) => [r.IpProtocol, r.FromPort, r.ToPort, r.CidrIpv4])).toEqual([
      ['tcp', 443, 443, '10.0.0.0/16'],
      ['tcp', 443, 443, '192.168.0.0/24'],
    ]);
    expect(rules.every((r) => r.GroupId === app && /^sgr-/.test(r.SecurityGroupRuleId!))).toBe(true);
  });

  it('lets a new NAT gateway and new security groups miss by-ID lookups for a while, but not listings', async () => {
    process.env.GITLAB_AWS_SANDBOX_FAULTS = JSON.stringify({ consistencyLag: 4 });
    const aws = await session();
    const ec2 = await aws.ec2();
    /** Retries a call while it answers NotFound, as the steps do; returns how often it missed. */
    const eventually = async <T>(call: () => Promise<T>): Promise<{ value: T; misses: number }> => {
      for (let misses = 0; ; misses++) {
        try {
          return { value: await call(), misses };
        } catch (err) {
          if (classify(err) !== 'not-found' || misses > 10) throw err;
        }
      }
    };

    const vpcId = (await ec2.createVpc({ CidrBlock: '10.0.0.0/16' })).Vpc!.VpcId!;
    const subnetId = (await eventually(() => ec2.createSubnet({ VpcId: vpcId, CidrBlock: '10.0.0.0/24', AvailabilityZone: `${REGION}a` })))
      .value.Subnet!.SubnetId!;
    const igw = (await ec2.createInternetGateway({})).InternetGateway!.InternetGatewayId!;
    await eventually(() => ec2.attachInternetGateway({ InternetGatewayId: igw, VpcId: vpcId }));
    const allocationId = (await ec2.allocateAddress({ Domain: 'vpc' })).AllocationId!;
    const natId = (await eventually(() => ec2.createNatGateway({ SubnetId: subnetId, AllocationId: allocationId }))).value.NatGateway!
      .NatGatewayId!;

    // A listing sees the gateway at once; a lookup by its ID may not yet.
    expect(
      (await ec2.describeNatGateways({ Filter: [{ Name: 'vpc-id', Values: [vpcId] }] })).NatGateways!.map((n) => n.NatGatewayId),
    ).toEqual([natId]);
    const nat = await eventually(() => ec2.describeNatGateways({ NatGatewayIds: [natId] }));
    expect(nat.value.NatGateways![0]!.NatGatewayId).toBe(natId);

    const groupMisses: number[] = [];
    for (const name of ['a', 'b', 'c']) {
      const groupId = (await ec2.createSecurityGroup({ GroupName: name, Description: name, VpcId: vpcId })).GroupId!;
      expect((await ec2.describeSecurityGroups({ Filters: [{ Name: 'group-id', Values: [groupId] }] })).SecurityGroups).toHaveLength(1);
      const found = await eventually(() => ec2.describeSecurityGroups({ GroupIds: [groupId] }));
      expect(found.value.SecurityGroups![0]!.GroupName).toBe(name);
      groupMisses.push(found.misses);
    }
    expect(nat.misses).toBeGreaterThan(0);
    expect(nat.misses).toBeLessThanOrEqual(4);
    expect(Math.max(...groupMisses)).toBeGreaterThan(0);
    expect(Math.max(...groupMisses)).toBeLessThanOrEqual(4);
  });
});
