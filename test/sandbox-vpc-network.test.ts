import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAwsSession, type AwsSession } from '../src/aws/clients.js';
import { classify, errorCode } from '../src/aws/errors.js';
import { AWS_MINUTES, MINUTE } from '../src/aws/durations.js';
import { tempDir } from './helpers.js';
import { failure } from './sandbox-fixtures.js';

/**
 * The sandbox's networking behaves as AWS does where an installer has to cope: NAT gateways
 * that take minutes, addresses that refuse release right after, gateways that will not detach,
 * groups that block each other's deletion. Driven through the real SDK clients.
 */
let aws: AwsSession;

beforeEach(async () => {
  process.env.GITLAB_AWS_SANDBOX_FAULTS = JSON.stringify({ consistencyLag: 0 });
  aws = await createAwsSession({ region: 'us-west-2', sandbox: { stateDir: await tempDir() } });
});
afterEach(() => {
  delete process.env.GITLAB_AWS_SANDBOX_FAULTS;
});

async function network(withGateway = true) {
  const ec2 = await aws.ec2();
  const vpcId = (await ec2.createVpc({ CidrBlock: '10.0.0.0/16' })).Vpc!.VpcId!;
  const subnetId = (await ec2.createSubnet({ VpcId: vpcId, CidrBlock: '10.0.0.0/24', AvailabilityZone: 'us-west-2a' })).Subnet!.SubnetId!;
  let gatewayId = '';
  if (withGateway) {
    gatewayId = (await ec2.createInternetGateway({})).InternetGateway!.InternetGatewayId!;
    await ec2.attachInternetGateway({ InternetGatewayId: gatewayId, VpcId: vpcId });
  }
  return { ec2, vpcId, subnetId, gatewayId };
}

const natState = async (id: string) => (await (await aws.ec2()).describeNatGateways({ NatGatewayIds: [id] })).NatGateways![0]!.State;

describe('sandbox networking', () => {
  it('runs the NAT gateway life cycle with the address and gateway rules around it', async () => {
    const { ec2, vpcId, subnetId, gatewayId } = await network();
    const allocationId = (await ec2.allocateAddress({ Domain: 'vpc' })).AllocationId!;
    const natId = (await ec2.createNatGateway({ SubnetId: subnetId, AllocationId: allocationId })).NatGateway!.NatGatewayId!;
    expect(await natState(natId)).toBe('pending');
    await aws.clock.sleep(AWS_MINUTES.natGateway.create * MINUTE);
    expect(await natState(natId)).toBe('available');

    expect(errorCode(await failure(ec2.detachInternetGateway({ InternetGatewayId: gatewayId, VpcId: vpcId })))).toBe('DependencyViolation');
    expect(errorCode(await failure(ec2.releaseAddress({ AllocationId: allocationId })))).toBe('InvalidIPAddress.InUse');
    expect(errorCode(await failure(ec2.deleteSubnet({ SubnetId: subnetId })))).toBe('DependencyViolation');

    await ec2.deleteNatGateway({ NatGatewayId: natId });
    expect(await natState(natId)).toBe('deleting');
    await aws.clock.sleep(AWS_MINUTES.natGateway.delete * MINUTE);
    expect(await natState(natId)).toBe('deleted');
    // AWS's quirk: the address stays unreleasable for a while after its gateway is gone.
    const refused = await failure(ec2.releaseAddress({ AllocationId: allocationId }));
    expect(errorCode(refused)).toBe('AuthFailure');
    expect(classify(refused)).toBe('access-denied');
    await aws.clock.sleep(AWS_MINUTES.elasticIp.releaseBlockedAfterNat * MINUTE);
    await ec2.releaseAddress({ AllocationId: allocationId });
    expect((await ec2.describeAddresses({})).Addresses).toEqual([]);
    await ec2.detachInternetGateway({ InternetGatewayId: gatewayId, VpcId: vpcId });
    await ec2.deleteSubnet({ SubnetId: subnetId });
  });

  it('fails a NAT gateway in a VPC without an internet gateway', async () => {
    const { ec2, subnetId } = await network(false);
    const allocationId = (await ec2.allocateAddress({ Domain: 'vpc' })).AllocationId!;
    const nat = (await ec2.createNatGateway({ SubnetId: subnetId, AllocationId: allocationId })).NatGateway!;
    expect(nat.State).toBe('failed');
    expect(nat.FailureCode).toBe('Gateway.NotAttached');
    // A failed gateway holds no address.
    await ec2.releaseAddress({ AllocationId: allocationId });
  });

  it('honours ClientTokens: the same call returns the same gateway or table, other parameters are refused', async () => {
    const { ec2, vpcId, subnetId } = await network();
    const [a, b] = [(await ec2.allocateAddress({})).AllocationId!, (await ec2.allocateAddress({})).AllocationId!];
    const first = await ec2.createNatGateway({ SubnetId: subnetId, AllocationId: a, ClientToken: 'token-1' });
    const again = await ec2.createNatGateway({ SubnetId: subnetId, AllocationId: a, ClientToken: 'token-1' });
    expect(again.NatGateway!.NatGatewayId).toBe(first.NatGateway!.NatGatewayId);
    expect((await ec2.describeNatGateways({})).NatGateways).toHaveLength(1);
    expect(errorCode(await failure(ec2.createNatGateway({ SubnetId: subnetId, AllocationId: b, ClientToken: 'token-1' })))).toBe(
      'IdempotentParameterMismatch',
    );

    const table = await ec2.createRouteTable({ VpcId: vpcId, ClientToken: 'rt-1' });
    expect((await ec2.createRouteTable({ VpcId: vpcId, ClientToken: 'rt-1' })).RouteTable!.RouteTableId).toBe(
      table.RouteTable!.RouteTableId,
    );
    expect((await ec2.describeRouteTables({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] })).RouteTables).toHaveLength(1);
  });

  it('routes, associations and their conflicts; a route to a deleted NAT gateway turns blackhole', async () => {
    const { ec2, vpcId, subnetId, gatewayId } = await network();
    const allocationId = (await ec2.allocateAddress({})).AllocationId!;
    const natId = (await ec2.createNatGateway({ SubnetId: subnetId, AllocationId: allocationId })).NatGateway!.NatGatewayId!;
    const publicTable = (await ec2.createRouteTable({ VpcId: vpcId })).RouteTable!.RouteTableId!;
    const privateTable = (await ec2.createRouteTable({ VpcId: vpcId })).RouteTable!.RouteTableId!;
    await ec2.createRoute({ RouteTableId: publicTable, DestinationCidrBlock: '0.0.0.0/0', GatewayId: gatewayId });
    expect(
      errorCode(await failure(ec2.createRoute({ RouteTableId: publicTable, DestinationCidrBlock: '0.0.0.0/0', GatewayId: gatewayId }))),
    ).toBe('RouteAlreadyExists');
    await ec2.createRoute({ RouteTableId: privateTable, DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: natId });

    await ec2.associateRouteTable({ RouteTableId: publicTable, SubnetId: subnetId });
    expect(errorCode(await failure(ec2.associateRouteTable({ RouteTableId: privateTable, SubnetId: subnetId })))).toBe(
      'Resource.AlreadyAssociated',
    );
    expect(classify(await failure(ec2.deleteRouteTable({ RouteTableId: publicTable })))).toBe('dependency');

    await ec2.deleteNatGateway({ NatGatewayId: natId });
    await aws.clock.sleep(AWS_MINUTES.natGateway.delete * MINUTE);
    const routes = (await ec2.describeRouteTables({ RouteTableIds: [privateTable] })).RouteTables![0]!.Routes!;
    expect(routes.find((r) => r.DestinationCidrBlock === '0.0.0.0/0')!.State).toBe('blackhole');

    const association = (await ec2.describeRouteTables({ RouteTableIds: [publicTable] })).RouteTables![0]!.Associations![0]!;
    await ec2.disassociateRouteTable({ AssociationId: association.RouteTableAssociationId! });
    await ec2.deleteRouteTable({ RouteTableId: publicTable });
  });

  it('security groups: duplicate rules refused, cross-references block deletion until revoked', async () => {
    const { ec2, vpcId } = await network();
    const web = (await ec2.createSecurityGroup({ GroupName: 'web', Description: 'web', VpcId: vpcId })).GroupId!;
    const db = (await ec2.createSecurityGroup({ GroupName: 'db', Description: 'db', VpcId: vpcId })).GroupId!;
    expect(errorCode(await failure(ec2.createSecurityGroup({ GroupName: 'web', Description: 'again', VpcId: vpcId })))).toBe(
      'InvalidGroup.Duplicate',
    );

    const fromWeb = { IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, UserIdGroupPairs: [{ GroupId: web }] };
    await ec2.authorizeSecurityGroupIngress({ GroupId: db, IpPermissions: [fromWeb] });
    expect(errorCode(await failure(ec2.authorizeSecurityGroupIngress({ GroupId: db, IpPermissions: [fromWeb] })))).toBe(
      'InvalidPermission.Duplicate',
    );
    const rules = (await ec2.describeSecurityGroupRules({ Filters: [{ Name: 'group-id', Values: [db] }] })).SecurityGroupRules!;
    expect(rules.filter((r) => !r.IsEgress).map((r) => [r.FromPort, r.ReferencedGroupInfo?.GroupId])).toEqual([[5432, web]]);
    expect(rules.filter((r) => r.IsEgress).map((r) => r.CidrIpv4)).toEqual(['0.0.0.0/0']);

    expect(classify(await failure(ec2.deleteSecurityGroup({ GroupId: web })))).toBe('dependency');
    expect(classify(await failure(ec2.deleteVpc({ VpcId: vpcId })))).toBe('dependency');
    await ec2.revokeSecurityGroupIngress({
      GroupId: db,
      SecurityGroupRuleIds: rules.filter((r) => !r.IsEgress).map((r) => r.SecurityGroupRuleId!),
    });
    await ec2.deleteSecurityGroup({ GroupId: web });
    await ec2.deleteSecurityGroup({ GroupId: db });
  });

  it('keeps the VPC while its gateway, groups, tables or NAT gateways remain', async () => {
    const { ec2, vpcId, subnetId, gatewayId } = await network();
    expect(classify(await failure(ec2.deleteVpc({ VpcId: vpcId })))).toBe('dependency');
    await ec2.detachInternetGateway({ InternetGatewayId: gatewayId, VpcId: vpcId });
    expect(errorCode(await failure(ec2.deleteInternetGateway({ InternetGatewayId: 'igw-00000000000000000' })))).toBe(
      'InvalidInternetGatewayID.NotFound',
    );
    await ec2.deleteInternetGateway({ InternetGatewayId: gatewayId });
    const table = (await ec2.createRouteTable({ VpcId: vpcId })).RouteTable!.RouteTableId!;
    await ec2.deleteSubnet({ SubnetId: subnetId });
    expect(classify(await failure(ec2.deleteVpc({ VpcId: vpcId })))).toBe('dependency');
    await ec2.deleteRouteTable({ RouteTableId: table });
    await ec2.deleteVpc({ VpcId: vpcId });
  });

  it('an address limit of five per region', async () => {
    const ec2 = await aws.ec2();
    for (let i = 0; i < 5; i++) await ec2.allocateAddress({});
    expect(classify(await failure(ec2.allocateAddress({})))).toBe('quota');
  });
});
