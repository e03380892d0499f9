import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EC2 } from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAwsSession, type AwsSession } from '../src/aws/clients.js';
import { AWS_MINUTES, MINUTE } from '../src/aws/durations.js';
import { errorCode } from '../src/aws/errors.js';
import { SERVICE_NAMES, type ServiceName } from '../src/aws/services.js';
import { makeContext } from '../src/sandbox/context.js';
import type { SandboxService } from '../src/sandbox/core.js';
import { all, put } from '../src/sandbox/ec2.js';
import { placeEni, refuseWhileInUse, releaseEnis } from '../src/sandbox/network-interfaces.js';
import { SANDBOX_SERVICES } from '../src/sandbox/services.js';
import { emptyWorld, saveWorld, worldFile, type World } from '../src/sandbox/world.js';
import { openSandbox } from '../src/sandbox/index.js';
import { tempDir } from './helpers.js';
import { sandboxFixtures, failure, ubuntuImage } from './sandbox-fixtures.js';

/**
 * The sandbox's shape as a user of it notices it: one service list shared by the session and the
 * sandbox, one ENI rule behind every DependencyViolation, AWS's answers for resources that are
 * gone, DescribeRegions, and the two small services (Route 53, ACM) a seed can stage.
 */
const REGION = 'us-west-2';
const { stateDir, keep } = sandboxFixtures('gitlab-aws-structure-');

beforeEach(() => {
  process.env.GITLAB_AWS_SANDBOX_FAULTS = JSON.stringify({ consistencyLag: 0 });
});
afterEach(async () => {
  delete process.env.GITLAB_AWS_SANDBOX_FAULTS;
});

async function session(dir?: string, region = REGION): Promise<AwsSession> {
  const created = await createAwsSession({ region, sandbox: { stateDir: dir ?? (await stateDir()) } });
  keep(created);
  return created;
}

/** The error a call failed with; a call that succeeds fails the test. */

function fixture(name: string): Promise<Buffer> {
  return readFile(join(import.meta.dirname, 'fixtures', name));
}

async function vpcWithSubnet(ec2: EC2) {
  const vpcId = (await ec2.createVpc({ CidrBlock: '10.0.0.0/16' })).Vpc!.VpcId!;
  const subnetId = (await ec2.createSubnet({ VpcId: vpcId, CidrBlock: '10.0.1.0/24', AvailabilityZone: `${REGION}a` })).Subnet!.SubnetId!;
  return { vpcId, subnetId };
}

// A service with a client but no sandbox plug-in, or a plug-in without a client, does not compile.
type Plugins = { [K in ServiceName]: SandboxService<unknown, K> };
// @ts-expect-error the registry without ACM lacks a service the session has a client for
export const withoutAcm: Plugins = {} as Omit<typeof SANDBOX_SERVICES, 'acm'>;
// @ts-expect-error a plug-in for a service the session has no client for is refused
export const withExtra: Plugins = { ...SANDBOX_SERVICES, sqs: SANDBOX_SERVICES.sts };
// @ts-expect-error a plug-in answering another service's operations is refused (ACM's calls are not STS's)
export const swapped: Plugins = { ...SANDBOX_SERVICES, sts: SANDBOX_SERVICES.acm };

describe('one list of services', () => {
  it('the session offers a client for exactly the services the sandbox implements, and each answers in-process', async () => {
    const aws = await session();
    const offered = Object.keys(aws)
      .filter((key) => SERVICE_NAMES.includes(key as ServiceName))
      .sort();
    expect(offered).toEqual([...SERVICE_NAMES].sort());
    expect(Object.keys(SANDBOX_SERVICES).sort()).toEqual([...SERVICE_NAMES].sort());
    expect(SERVICE_NAMES).toEqual(expect.arrayContaining(['route53', 'acm']));

    expect((await (await aws.sts()).getCallerIdentity({})).Account).toBe('123456789012');
    // The built-in account holds one zone of its own (src/sandbox/seed.ts), nothing else.
    expect((await (await aws.route53()).listHostedZonesByName({})).HostedZones!.map((z) => z.Name)).toEqual(['example.com.']);
    expect((await (await aws.acm()).listCertificates({})).CertificateSummaryList).toEqual([]);
    expect(aws.builtClients().sort()).toEqual(['acm', 'route53', 'sts']);
  });

  it('opens a world saved before Route 53 and ACM joined, giving them empty parts', async () => {
    const dir = await tempDir('gitlab-aws-structure-');
    const old = emptyWorld(Date.now()) as Partial<World>;
    delete old.route53;
    delete old.acm;
    await saveWorld(worldFile(dir), JSON.stringify(old));
    const aws = await session(dir);
    expect((await (await aws.route53()).listHostedZonesByName({})).HostedZones).toEqual([]);
    expect((await (await aws.acm()).listCertificates({})).CertificateSummaryList).toEqual([]);
  });
});

describe('network interfaces hold their subnet, VPC and security groups', () => {
  it("a NAT gateway's interface blocks deleting its subnet and VPC until the gateway is deleted", async () => {
    const aws = await session();
    const ec2 = await aws.ec2();
    const { vpcId, subnetId } = await vpcWithSubnet(ec2);
    const igw = (await ec2.createInternetGateway({})).InternetGateway!.InternetGatewayId!;
    await ec2.attachInternetGateway({ InternetGatewayId: igw, VpcId: vpcId });
    const eip = await ec2.allocateAddress({ Domain: 'vpc' });
    const nat = (await ec2.createNatGateway({ SubnetId: subnetId, AllocationId: eip.AllocationId })).NatGateway!;
    expect(nat.NatGatewayAddresses![0]!.NetworkInterfaceId).toMatch(/^eni-/);
    expect(nat.NatGatewayAddresses![0]!.PrivateIp).toMatch(/^10\.0\.1\./);

    const subnetRefused = await failure(ec2.deleteSubnet({ SubnetId: subnetId }));
    expect(errorCode(subnetRefused)).toBe('DependencyViolation');
    expect(subnetRefused.message).toBe(`The subnet '${subnetId}' has dependencies and cannot be deleted.`);

    await ec2.deleteNatGateway({ NatGatewayId: nat.NatGatewayId });
    // Deleting is not deleted: the interface still stands.
    expect(errorCode(await failure(ec2.deleteSubnet({ SubnetId: subnetId })))).toBe('DependencyViolation');
    await aws.clock.sleep(AWS_MINUTES.natGateway.delete * MINUTE);
    await ec2.deleteSubnet({ SubnetId: subnetId });
    await ec2.detachInternetGateway({ InternetGatewayId: igw, VpcId: vpcId });
    await ec2.deleteInternetGateway({ InternetGatewayId: igw });
    await ec2.deleteVpc({ VpcId: vpcId });
    expect((await ec2.describeVpcs({})).Vpcs).toEqual([]);
  });

  it("an instance's interface blocks deleting its subnet, its security group and its VPC until it is terminated", async () => {
    const aws = await session();
    const ec2 = await aws.ec2();
    const { vpcId, subnetId } = await vpcWithSubnet(ec2);
    const groupId = (await ec2.createSecurityGroup({ GroupName: 'web', Description: 'web', VpcId: vpcId })).GroupId!;
    const instance = (
      await ec2.runInstances({
        ImageId: ubuntuImage(REGION),
        MinCount: 1,
        MaxCount: 1,
        SubnetId: subnetId,
        SecurityGroupIds: [groupId],
      })
    ).Instances![0]!;
    expect(instance.NetworkInterfaces![0]).toMatchObject({ SubnetId: subnetId, VpcId: vpcId, PrivateIpAddress: instance.PrivateIpAddress });

    expect(errorCode(await failure(ec2.deleteSubnet({ SubnetId: subnetId })))).toBe('DependencyViolation');
    const groupRefused = await failure(ec2.deleteSecurityGroup({ GroupId: groupId }));
    expect(errorCode(groupRefused)).toBe('DependencyViolation');
    expect(groupRefused.message).toBe(`resource ${groupId} has a dependent object`);
    const vpcRefused = await failure(ec2.deleteVpc({ VpcId: vpcId }));
    expect(vpcRefused.message).toBe(`The vpc '${vpcId}' has dependencies and cannot be deleted.`);

    await ec2.terminateInstances({ InstanceIds: [instance.InstanceId!] });
    expect(errorCode(await failure(ec2.deleteSubnet({ SubnetId: subnetId })))).toBe('DependencyViolation');
    await aws.clock.sleep(AWS_MINUTES.ec2Instance.delete * MINUTE);
    await ec2.deleteSecurityGroup({ GroupId: groupId });
    await ec2.deleteSubnet({ SubnetId: subnetId });
    await ec2.deleteVpc({ VpcId: vpcId });
  });

  it('an interface released later than its owner (a load balancer lingering) holds its subnet until then', () => {
    const world = emptyWorld(0);
    const at = (now: number) => makeContext(world, REGION, now, { lagging: {}, maxLag: 0, dice: () => 0 });
    const ctx = at(0);
    const vpc = put(ctx, 'vpc', 'vpc', {}, 0, { cidrBlock: '10.0.0.0/16' });
    const subnet = put(ctx, 'subnet', 'subnet', {}, 0, { vpcId: vpc.id, cidrBlock: '10.0.4.0/24', availabilityZone: `${REGION}a` });
    const group = put(ctx, 'security-group', 'sg', {}, 0, { vpcId: vpc.id, groupName: 'nlb', rules: [] });
    placeEni(ctx, {
      subnet,
      ownerId: 'net/gitlab-nlb/1',
      interfaceType: 'network_load_balancer',
      securityGroupIds: [group.id],
      description: 'ELB',
    });

    const linger = AWS_MINUTES.networkLoadBalancer.eniLinger * MINUTE;
    releaseEnis(ctx, 'net/gitlab-nlb/1', linger);
    expect(() => refuseWhileInUse(at(linger - 1), subnet)).toThrow(/has dependencies/);
    expect(() => refuseWhileInUse(at(linger - 1), group)).toThrow(/dependent object/);
    expect(() => refuseWhileInUse(at(linger), subnet)).not.toThrow();
    expect(() => refuseWhileInUse(at(linger), group)).not.toThrow();
    expect(all(at(linger), 'network-interface')).toHaveLength(1); // gone from use, still listed a while
  });
});

describe('a call naming a resource that is gone answers as AWS does', () => {
  it('replaying the ClientToken of a deleted route table answers InvalidRouteTableID.NotFound', async () => {
    const aws = await session();
    const ec2 = await aws.ec2();
    const { vpcId } = await vpcWithSubnet(ec2);
    const first = (await ec2.createRouteTable({ VpcId: vpcId, ClientToken: 'gitlab-rt-public-1' })).RouteTable!;
    const replay = (await ec2.createRouteTable({ VpcId: vpcId, ClientToken: 'gitlab-rt-public-1' })).RouteTable!;
    expect(replay.RouteTableId).toBe(first.RouteTableId);

    await ec2.deleteRouteTable({ RouteTableId: first.RouteTableId });
    const gone = await failure(ec2.createRouteTable({ VpcId: vpcId, ClientToken: 'gitlab-rt-public-1' }));
    expect(gone).not.toBeInstanceOf(TypeError);
    expect(errorCode(gone)).toBe('InvalidRouteTableID.NotFound');
    expect(gone.message).toBe(`The route table ID '${first.RouteTableId}' does not exist`);
    expect(errorCode(await failure(ec2.describeRouteTables({ RouteTableIds: [first.RouteTableId!] })))).toBe(
      'InvalidRouteTableID.NotFound',
    );
  });

  it('a NAT gateway token replays its deleted view while AWS still shows it, then NatGatewayNotFound', async () => {
    const aws = await session();
    const ec2 = await aws.ec2();
    const { vpcId, subnetId } = await vpcWithSubnet(ec2);
    const igw = (await ec2.createInternetGateway({})).InternetGateway!.InternetGatewayId!;
    await ec2.attachInternetGateway({ InternetGatewayId: igw, VpcId: vpcId });
    const { AllocationId } = await ec2.allocateAddress({ Domain: 'vpc' });
    const request = { SubnetId: subnetId, AllocationId, ClientToken: 'gitlab-nat-a-1' };
    const nat = (await ec2.createNatGateway(request)).NatGateway!;
    await ec2.deleteNatGateway({ NatGatewayId: nat.NatGatewayId });
    await aws.clock.sleep(AWS_MINUTES.natGateway.delete * MINUTE);
    const replay = (await ec2.createNatGateway(request)).NatGateway!;
    expect(replay).toMatchObject({ NatGatewayId: nat.NatGatewayId, State: 'deleted' });

    await aws.clock.sleep(61 * MINUTE); // AWS forgets deleted gateways after about an hour
    const gone = await failure(ec2.createNatGateway(request));
    expect(errorCode(gone)).toBe('NatGatewayNotFound');
  });
});

describe('DescribeRegions', () => {
  it('lists the enabled regions, all of them with AllRegions, and honours RegionNames', async () => {
    const ec2 = await (await session()).ec2();
    const enabled = (await ec2.describeRegions({})).Regions!;
    expect(enabled.map((r) => r.RegionName)).toContain('us-west-2');
    expect(enabled.map((r) => r.RegionName)).not.toContain('me-south-1');
    expect(enabled.find((r) => r.RegionName === 'us-west-2')).toEqual({
      RegionName: 'us-west-2',
      Endpoint: 'ec2.us-west-2.amazonaws.com',
      OptInStatus: 'opt-in-not-required',
    });
    expect(enabled.find((r) => r.RegionName === 'af-south-1')?.OptInStatus).toBe('opted-in');

    const everything = (await ec2.describeRegions({ AllRegions: true })).Regions!;
    expect(everything.find((r) => r.RegionName === 'me-south-1')?.OptInStatus).toBe('not-opted-in');
    expect(everything.length).toBe(enabled.length + 1);

    const named = await ec2.describeRegions({ AllRegions: true, RegionNames: ['me-south-1', 'eu-west-1'] });
    expect(named.Regions!.map((r) => [r.RegionName, r.OptInStatus])).toEqual([
      ['me-south-1', 'not-opted-in'],
      ['eu-west-1', 'opt-in-not-required'],
    ]);
    expect((await ec2.describeRegions({ RegionNames: ['me-south-1'] })).Regions).toEqual([]);
    expect(errorCode(await failure(ec2.describeRegions({ RegionNames: ['us-nowhere-1'] })))).toBe('InvalidParameterValue');
  });
});

describe('Route 53 and ACM, enough to stage an existing hosted zone and an issued certificate', () => {
  it('creates hosted zones, gets them by ID (with or without /hostedzone/), and lists them by name in DNS order', async () => {
    const dir = await stateDir();
    const aws = await session(dir);
    const route53 = await aws.route53();
    const created = await route53.createHostedZone({ Name: 'example.com', CallerReference: 'seed-1' });
    const id = created.HostedZone!.Id!;
    expect(id).toMatch(/^\/hostedzone\/Z[0-9A-Z]+$/);
    expect(created.HostedZone!.Name).toBe('example.com.');
    expect(created.DelegationSet!.NameServers).toHaveLength(4);
    expect(created.ChangeInfo!.Status).toBe('PENDING');

    const reused = await failure(route53.createHostedZone({ Name: 'example.org', CallerReference: 'seed-1' }));
    expect(reused.name).toBe('HostedZoneAlreadyExists');
    // A new reference for the same name makes a second zone, as AWS does.
    await route53.createHostedZone({ Name: 'example.com.', CallerReference: 'seed-2' });
    await route53.createHostedZone({ Name: 'gitlab.example.com', CallerReference: 'seed-3' });
    await route53.createHostedZone({ Name: 'aaa.org', CallerReference: 'seed-4' });

    expect((await route53.getHostedZone({ Id: id })).HostedZone!.Name).toBe('example.com.');
    expect((await route53.getHostedZone({ Id: id.replace('/hostedzone/', '') })).HostedZone!.Id).toBe(id);
    expect((await failure(route53.getHostedZone({ Id: 'ZNOSUCHZONE' }))).name).toBe('NoSuchHostedZone');

    const listed = await route53.listHostedZonesByName({});
    // The built-in account's example.com first (its own), then the three made here, in DNS order.
    expect(listed.HostedZones!.map((z) => z.Name)).toEqual([
      'example.com.',
      'example.com.',
      'example.com.',
      'gitlab.example.com.',
      'aaa.org.',
    ]);
    const from = await route53.listHostedZonesByName({ DNSName: 'gitlab.example.com', MaxItems: 1 });
    expect(from.HostedZones!.map((z) => z.Name)).toEqual(['gitlab.example.com.']);
    expect(from).toMatchObject({ IsTruncated: true, NextDNSName: 'aaa.org.' });

    await route53.changeTagsForResource({
      ResourceType: 'hostedzone',
      ResourceId: id,
      AddTags: [{ Key: 'gitlab-aws:deployment', Value: 'dns-team' }],
    });
    const sandbox = await openSandbox({ stateDir: dir });
    expect(sandbox.inventory('dns-team')).toEqual([
      {
        type: 'AWS::Route53::HostedZone',
        id: id.replace('/hostedzone/', ''),
        name: 'example.com.',
        deployment: 'dns-team',
        step: undefined,
      },
    ]);
  });

  it('imports a certificate as ISSUED, describes and lists it, and refuses a key that does not match', async () => {
    const dir = await stateDir();
    const aws = await session(dir);
    const acm = await aws.acm();
    const [certificate, key, other] = await Promise.all([
      fixture('gitlab.example.com.crt'),
      fixture('gitlab.example.com.key'),
      fixture('other.key'),
    ]);
    const mismatched = await failure(acm.importCertificate({ Certificate: certificate, PrivateKey: other }));
    expect(mismatched.name).toBe('ValidationException');
    expect((await failure(acm.importCertificate({ Certificate: Buffer.from('nonsense'), PrivateKey: key }))).name).toBe(
      'ValidationException',
    );

    const { CertificateArn } = await acm.importCertificate({
      Certificate: certificate,
      PrivateKey: key,
      Tags: [{ Key: 'gitlab-aws:deployment', Value: 'gitlab' }],
    });
    expect(CertificateArn).toMatch(
      /^arn:aws:acm:us-west-2:123456789012:certificate\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    const described = (await acm.describeCertificate({ CertificateArn })).Certificate!;
    expect(described).toMatchObject({
      DomainName: 'gitlab.example.com',
      SubjectAlternativeNames: ['gitlab.example.com', 'registry.gitlab.example.com'],
      Status: 'ISSUED',
      Type: 'IMPORTED',
      KeyAlgorithm: 'EC_prime256v1',
    });
    expect(described.NotAfter!.getTime()).toBeGreaterThan(Date.now());
    const listed = await acm.listCertificates({ CertificateStatuses: ['ISSUED'] });
    expect(listed.CertificateSummaryList!.map((c) => [c.CertificateArn, c.DomainName])).toEqual([[CertificateArn, 'gitlab.example.com']]);
    expect((await acm.listCertificates({ CertificateStatuses: ['PENDING_VALIDATION'] })).CertificateSummaryList).toEqual([]);
    // ACM is regional: another region neither lists nor finds it.
    const elsewhere = await (await session(dir, 'eu-west-1')).acm();
    expect((await elsewhere.listCertificates({})).CertificateSummaryList).toEqual([]);
    expect((await failure(elsewhere.describeCertificate({ CertificateArn }))).name).toBe('ResourceNotFoundException');
  });
});

describe('the inventory names what it lists', () => {
  it('carries the Name tag of EC2 resources and the names of IAM, S3, SSM, Route 53 and ACM resources', async () => {
    const dir = await tempDir('gitlab-aws-structure-');
    const aws = await session(dir);
    const deployment = [{ Key: 'gitlab-aws:deployment', Value: 'gitlab' }];
    const ec2 = await aws.ec2();
    const vpcId = (
      await ec2.createVpc({
        CidrBlock: '10.0.0.0/16',
        TagSpecifications: [{ ResourceType: 'vpc', Tags: [...deployment, { Key: 'Name', Value: 'gitlab-vpc' }] }],
      })
    ).Vpc!.VpcId!;
    await (
      await aws.iam()
    ).createRole({ RoleName: 'gitlab-GitLabS3Access', AssumeRolePolicyDocument: '{"Statement":[]}', Tags: deployment });
    await (
      await aws.s3()
    ).createBucket({
      Bucket: 'gl-gitlab-artifacts',
      CreateBucketConfiguration: { LocationConstraint: REGION, Tags: deployment },
    });
    await (await aws.ssm()).putParameter({ Name: '/gitlab-aws/gitlab/root-password', Value: 'x', Type: 'SecureString', Tags: deployment });
    const acm = await aws.acm();
    const [Certificate, PrivateKey] = await Promise.all([fixture('gitlab.example.com.crt'), fixture('gitlab.example.com.key')]);
    const { CertificateArn } = await acm.importCertificate({ Certificate, PrivateKey, Tags: deployment });
    await aws.close();

    const sandbox = await openSandbox({ stateDir: dir });
    const listed = sandbox.inventory('gitlab').map((r) => [r.type, r.name]);
    expect(listed.sort()).toEqual(
      [
        ['AWS::EC2::VPC', 'gitlab-vpc'],
        ['AWS::IAM::Role', 'gitlab-GitLabS3Access'],
        ['AWS::S3::Bucket', 'gl-gitlab-artifacts'],
        ['AWS::SSM::Parameter', '/gitlab-aws/gitlab/root-password'],
        ['AWS::CertificateManager::Certificate', 'gitlab.example.com'],
      ].sort(),
    );
    expect(sandbox.inventory('gitlab').find((r) => r.type === 'AWS::EC2::VPC')?.id).toBe(vpcId);
    expect(sandbox.inventory('gitlab').find((r) => r.name === 'gitlab.example.com')?.id).toBe(CertificateArn);
  });
});
