import { Socket } from 'node:net';
import type { RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAwsSession, type AwsSession } from '../src/aws/clients.js';
import { classify } from '../src/aws/errors.js';
import { AWS_MINUTES, MINUTE } from '../src/aws/durations.js';
import { TAG_DEPLOYMENT } from '../src/aws/tags.js';
import { openSandbox, type SandboxFaults } from '../src/sandbox/index.js';
import { readWorld, shape } from './helpers.js';
import { sandboxFixtures, ubuntuImage } from './sandbox-fixtures.js';

const REGION = 'us-west-2';
const AZ_A = `${REGION}a`;
const AZ_B = `${REGION}b`;
const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});
const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: '*' }],
});

afterEach(async () => {
  delete process.env.GITLAB_AWS_SANDBOX_FAULTS;
  vi.restoreAllMocks();
});

const { stateDir, keep, closed } = sandboxFixtures('gitlab-aws-sandbox-');

/**
 * A session whose SDK clients are answered by the sandbox. Faults reach the sandbox only through
 * the environment, which it reads while the session is created. Unless a test is about eventual
 * consistency, lookups by ID are made consistent so that rules, not dice, decide each outcome.
 */
async function sandboxSession(dir: string, faults: SandboxFaults = { consistencyLag: 0 }, region = REGION) {
  process.env.GITLAB_AWS_SANDBOX_FAULTS = JSON.stringify(faults);
  try {
    const session = await createAwsSession({ region, sandbox: { stateDir: dir } });
    keep(session);
    return session;
  } finally {
    delete process.env.GITLAB_AWS_SANDBOX_FAULTS;
  }
}

type AwsLikeError = Error & { Code?: string; $metadata?: { attempts?: number } };

async function rejection(promise: Promise<unknown>): Promise<AwsLikeError> {
  try {
    await promise;
  } catch (err) {
    return err as AwsLikeError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

async function vpcWithSubnet(session: AwsSession) {
  const ec2 = await session.ec2();
  const vpc = await ec2.createVpc({ CidrBlock: '10.0.0.0/16' });
  const subnet = await ec2.createSubnet({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: '10.0.0.0/24', AvailabilityZone: AZ_A });
  return { ec2, vpcId: vpc.Vpc!.VpcId!, subnetId: subnet.Subnet!.SubnetId! };
}

function runParams(subnetId: string): RunInstancesCommandInput {
  return { ImageId: ubuntuImage(REGION), InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, SubnetId: subnetId };
}

describe('sandbox behind the real SDK clients', () => {
  it('refuses a second IAM role with the same name as already-exists', async () => {
    const session = await sandboxSession(await stateDir());
    const iam = await session.iam();
    await iam.createRole({ RoleName: 'gitlab-role', AssumeRolePolicyDocument: TRUST });

    const err = await rejection(iam.createRole({ RoleName: 'gitlab-role', AssumeRolePolicyDocument: TRUST }));

    expect(classify(err)).toBe('already-exists');
    expect((await iam.getRole({ RoleName: 'gitlab-role' })).Role?.RoleName).toBe('gitlab-role');
  });

  it('replays RunInstances for a repeated ClientToken and refuses the token with other parameters', async () => {
    const session = await sandboxSession(await stateDir());
    const { ec2, subnetId } = await vpcWithSubnet(session);

    const first = await ec2.runInstances({ ...runParams(subnetId), ClientToken: 'install-1-gitlab' });
    const again = await ec2.runInstances({ ...runParams(subnetId), ClientToken: 'install-1-gitlab' });
    const mismatch = await rejection(
      ec2.runInstances({ ...runParams(subnetId), InstanceType: 't3.large', ClientToken: 'install-1-gitlab' }),
    );

    expect(again.Instances?.[0]?.InstanceId).toBe(first.Instances?.[0]?.InstanceId);
    expect(mismatch.name).toBe('IdempotentParameterMismatch');
    const listed = await ec2.describeInstances({ Filters: [{ Name: 'subnet-id', Values: [subnetId] }] });
    expect(listed.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId)).toEqual([first.Instances?.[0]?.InstanceId]);
  });

  it('refuses to delete a VPC that still has a subnet, and deletes it once the subnet is gone', async () => {
    const session = await sandboxSession(await stateDir());
    const { ec2, vpcId, subnetId } = await vpcWithSubnet(session);

    const err = await rejection(ec2.deleteVpc({ VpcId: vpcId }));
    expect(classify(err)).toBe('dependency');

    await ec2.deleteSubnet({ SubnetId: subnetId });
    await ec2.deleteVpc({ VpcId: vpcId });
    expect((await ec2.describeVpcs({})).Vpcs).toEqual([]);
  });

  describe('eventual consistency', () => {
    // With this seed the dice make the fresh VPC invisible by ID for a few lookups.
    const LAGGY = { seed: 7, consistencyLag: 3 };

    async function missesUntilFound(session: AwsSession, vpcId: string, tries = 10) {
      const ec2 = await session.ec2();
      const outcomes: string[] = [];
      for (let i = 0; i < tries; i++) {
        try {
          const found = await ec2.describeVpcs({ VpcIds: [vpcId] });
          outcomes.push(found.Vpcs?.[0]?.VpcId === vpcId ? 'found' : 'wrong');
        } catch (err) {
          outcomes.push(`${(err as Error).name}/${classify(err)}`);
        }
      }
      return outcomes;
    }

    it('misses a fresh VPC by ID for a bounded number of lookups, then always finds it', async () => {
      const session = await sandboxSession(await stateDir(), LAGGY);
      const vpc = await (await session.ec2()).createVpc({ CidrBlock: '10.0.0.0/16' });

      const outcomes = await missesUntilFound(session, vpc.Vpc!.VpcId!);

      const misses = outcomes.filter((o) => o !== 'found');
      expect(misses.length).toBeGreaterThanOrEqual(1);
      expect(misses.length).toBeLessThanOrEqual(LAGGY.consistencyLag);
      expect(new Set(misses)).toEqual(new Set(['InvalidVpcID.NotFound/not-found']));
      // Once seen, a resource never disappears again.
      expect(outcomes.slice(misses.length).every((o) => o === 'found')).toBe(true);
    });

    it('never misses anything by ID when consistencyLag is 0', async () => {
      const session = await sandboxSession(await stateDir(), { seed: 7, consistencyLag: 0 });
      const ec2 = await session.ec2();
      for (let i = 0; i < 5; i++) {
        const vpc = await ec2.createVpc({ CidrBlock: `10.${i}.0.0/16` });
        expect(await missesUntilFound(session, vpc.Vpc!.VpcId!, 3)).toEqual(['found', 'found', 'found']);
      }
    });

    it('finds a fresh VPC by tag filter while lookups by its ID still miss', async () => {
      const session = await sandboxSession(await stateDir(), LAGGY);
      const ec2 = await session.ec2();
      const vpc = await ec2.createVpc({
        CidrBlock: '10.0.0.0/16',
        TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: TAG_DEPLOYMENT, Value: 'lagged' }] }],
      });
      const vpcId = vpc.Vpc!.VpcId!;

      const byTag = await ec2.describeVpcs({ Filters: [{ Name: `tag:${TAG_DEPLOYMENT}`, Values: ['lagged'] }] });
      const byId = await rejection(ec2.describeVpcs({ VpcIds: [vpcId] }));

      expect(byTag.Vpcs?.map((v) => v.VpcId)).toEqual([vpcId]);
      expect(byId.name).toBe('InvalidVpcID.NotFound');
    });
  });

  it('refuses an instance profile until IAM has propagated it to EC2', async () => {
    const session = await sandboxSession(await stateDir());
    const { ec2, subnetId } = await vpcWithSubnet(session);
    const iam = await session.iam();
    await iam.createRole({ RoleName: 'gitlab-role', AssumeRolePolicyDocument: TRUST });
    const profile = await iam.createInstanceProfile({ InstanceProfileName: 'gitlab-profile' });
    await iam.addRoleToInstanceProfile({ InstanceProfileName: 'gitlab-profile', RoleName: 'gitlab-role' });
    const params = { ...runParams(subnetId), IamInstanceProfile: { Name: 'gitlab-profile' } };

    const early = await rejection(ec2.runInstances(params));
    expect(early.name).toBe('InvalidParameterValue');
    expect(early.message).toContain('Invalid IAM Instance Profile');

    await session.clock.sleep(AWS_MINUTES.iam.propagation * MINUTE + 1_000);
    const launched = await ec2.runInstances(params);
    expect(launched.Instances?.[0]?.IamInstanceProfile?.Arn).toBe(profile.InstanceProfile?.Arn);
  });

  it('moves VPCs and instances through their states as the sandbox clock passes', async () => {
    const session = await sandboxSession(await stateDir());
    const ec2 = await session.ec2();
    const vpcState = async (vpcId: string) => (await ec2.describeVpcs({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] })).Vpcs?.[0]?.State;
    const instanceState = async (id: string) =>
      (await ec2.describeInstances({ InstanceIds: [id] })).Reservations?.[0]?.Instances?.[0]?.State?.Name;

    const vpc = await ec2.createVpc({ CidrBlock: '10.0.0.0/16' });
    const vpcId = vpc.Vpc!.VpcId!;
    expect(vpc.Vpc?.State).toBe('pending');
    expect(await vpcState(vpcId)).toBe('pending');
    await session.clock.sleep(AWS_MINUTES.network.create * MINUTE);
    expect(await vpcState(vpcId)).toBe('available');

    const subnet = await ec2.createSubnet({ VpcId: vpcId, CidrBlock: '10.0.0.0/24', AvailabilityZone: AZ_A });
    const run = await ec2.runInstances(runParams(subnet.Subnet!.SubnetId!));
    const instanceId = run.Instances![0]!.InstanceId!;
    expect(run.Instances?.[0]?.State?.Name).toBe('pending');
    await session.clock.sleep(AWS_MINUTES.ec2Instance.create * MINUTE);
    expect(await instanceState(instanceId)).toBe('running');

    const terminate = await ec2.terminateInstances({ InstanceIds: [instanceId] });
    expect(terminate.TerminatingInstances?.[0]?.PreviousState?.Name).toBe('running');
    expect(terminate.TerminatingInstances?.[0]?.CurrentState?.Name).toBe('shutting-down');
    expect(await instanceState(instanceId)).toBe('shutting-down');
    await session.clock.sleep(AWS_MINUTES.ec2Instance.delete * MINUTE);
    expect(await instanceState(instanceId)).toBe('terminated');
  });

  it('absorbs throttling through the SDK retries', async () => {
    const session = await sandboxSession(await stateDir(), { throttleRate: 0.5, seed: 42, consistencyLag: 0 });
    const ec2 = await session.ec2();

    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await ec2.describeAvailabilityZones({}));

    for (const answer of answers) {
      expect(answer.AvailabilityZones?.map((z) => z.ZoneName)).toEqual([`${REGION}a`, `${REGION}b`, `${REGION}c`]);
    }
    const attempts = answers.map((a) => a.$metadata.attempts ?? 1);
    expect(Math.max(...attempts)).toBeGreaterThan(1);
  });

  it('crashes right after the Nth successful mutating call, with that call saved and never answered', async () => {
    const dir = await stateDir();
    const onCrash = vi.fn();
    const sandbox = await openSandbox({ stateDir: dir, faults: { crashAfter: 2, consistencyLag: 0 }, onCrash });
    const call = (service: 'ec2' | 'iam', operation: string, input: unknown = {}) =>
      sandbox.intercept({ service, region: REGION, operation, input });
    const tags = [{ Key: TAG_DEPLOYMENT, Value: 'crashy' }];

    await call('iam', 'CreateRole', { RoleName: 'crashy-role', AssumeRolePolicyDocument: TRUST, Tags: tags });
    // Reads and failed writes change nothing in AWS, so they must not bring the crash closer.
    await call('ec2', 'DescribeVpcs');
    await call('ec2', 'DescribeAvailabilityZones');
    await call('iam', 'GetRole', { RoleName: 'crashy-role' });
    await expect(call('iam', 'CreateRole', { RoleName: 'crashy-role', AssumeRolePolicyDocument: TRUST })).rejects.toThrow();
    expect(onCrash).not.toHaveBeenCalled();

    const second = call('ec2', 'CreateVpc', {
      CidrBlock: '10.0.0.0/16',
      TagSpecifications: [{ ResourceType: 'vpc', Tags: tags }],
    });
    const outcome = await Promise.race([second.then(() => 'answered'), new Promise((resolve) => setTimeout(resolve, 200, 'no answer'))]);

    expect(outcome).toBe('no answer');
    expect(onCrash).toHaveBeenCalledTimes(1);
    const reopened = await openSandbox({ stateDir: dir });
    expect(shape(reopened.inventory('crashy'))).toEqual({ 'AWS::EC2::VPC': 1, 'AWS::IAM::Role': 1 });
    expect((await readWorld(dir))?.mutations).toBe(2);
  });

  it('keeps its world and its clock in the state directory across processes', async () => {
    const dir = await stateDir();
    const first = await sandboxSession(dir);
    const ec2 = await first.ec2();
    const vpc = await ec2.createVpc({ CidrBlock: '10.0.0.0/16' });
    await (await first.iam()).createRole({ RoleName: 'kept-role', AssumeRolePolicyDocument: TRUST });
    await first.clock.sleep(10 * MINUTE);
    const stoppedAt = first.clock.now();
    await first.close();
    closed(first);

    const second = await sandboxSession(dir);

    expect(second.clock.now()).toBe(stoppedAt);
    const vpcs = await (await second.ec2()).describeVpcs({});
    expect(vpcs.Vpcs?.map((v) => [v.VpcId, v.State])).toEqual([[vpc.Vpc?.VpcId, 'available']]);
    expect((await (await second.iam()).getRole({ RoleName: 'kept-role' })).Role?.RoleName).toBe('kept-role');
    expect(second.clock.now()).toBeGreaterThan(stoppedAt);
  });

  describe('EC2 rules', () => {
    it('refuses a subnet outside its VPC', async () => {
      const session = await sandboxSession(await stateDir());
      const { ec2, vpcId } = await vpcWithSubnet(session);
      const err = await rejection(ec2.createSubnet({ VpcId: vpcId, CidrBlock: '10.1.0.0/24', AvailabilityZone: AZ_B }));
      expect(err.name).toBe('InvalidSubnet.Range');
    });

    it('refuses a subnet overlapping another one', async () => {
      const session = await sandboxSession(await stateDir());
      const { ec2, vpcId } = await vpcWithSubnet(session);
      const err = await rejection(ec2.createSubnet({ VpcId: vpcId, CidrBlock: '10.0.0.128/25', AvailabilityZone: AZ_B }));
      expect(err.name).toBe('InvalidSubnet.Conflict');
    });

    it('refuses a subnet in an Availability Zone the region does not have', async () => {
      const session = await sandboxSession(await stateDir());
      const { ec2, vpcId } = await vpcWithSubnet(session);
      const err = await rejection(ec2.createSubnet({ VpcId: vpcId, CidrBlock: '10.0.1.0/24', AvailabilityZone: 'us-east-1a' }));
      expect(err.name).toBe('InvalidParameterValue');
    });

    it('refuses to modify two VPC attributes in one call', async () => {
      const session = await sandboxSession(await stateDir());
      const { ec2, vpcId } = await vpcWithSubnet(session);
      const err = await rejection(
        ec2.modifyVpcAttribute({ VpcId: vpcId, EnableDnsSupport: { Value: true }, EnableDnsHostnames: { Value: true } }),
      );
      expect(err.name).toBe('InvalidParameterCombination');
      const hostnames = await ec2.describeVpcAttribute({ VpcId: vpcId, Attribute: 'enableDnsHostnames' });
      expect(hostnames.EnableDnsHostnames?.Value).toBe(false);
    });

    it('refuses an unknown filter name', async () => {
      const session = await sandboxSession(await stateDir());
      const { ec2 } = await vpcWithSubnet(session);
      const err = await rejection(ec2.describeSubnets({ Filters: [{ Name: 'colour', Values: ['blue'] }] }));
      expect(err.name).toBe('InvalidParameterValue');
    });

    it('refuses a sixth VPC in one region as a quota error', async () => {
      const session = await sandboxSession(await stateDir());
      const ec2 = await session.ec2();
      for (let i = 0; i < 5; i++) await ec2.createVpc({ CidrBlock: `10.${i}.0.0/16` });
      const err = await rejection(ec2.createVpc({ CidrBlock: '10.5.0.0/16' }));
      expect(err.name).toBe('VpcLimitExceeded');
      expect(classify(err)).toBe('quota');
      expect((await ec2.describeVpcs({})).Vpcs).toHaveLength(5);
    });
  });

  describe('IAM delete rules', () => {
    async function roleWithPolicy(session: AwsSession) {
      const iam = await session.iam();
      await iam.createRole({ RoleName: 'gitlab-role', AssumeRolePolicyDocument: TRUST });
      const policy = await iam.createPolicy({ PolicyName: 'gitlab-policy', PolicyDocument: POLICY });
      const policyArn = policy.Policy!.Arn!;
      await iam.attachRolePolicy({ RoleName: 'gitlab-role', PolicyArn: policyArn });
      return { iam, policyArn };
    }

    it('refuses to delete a role with an attached policy', async () => {
      const session = await sandboxSession(await stateDir());
      const { iam, policyArn } = await roleWithPolicy(session);

      const err = await rejection(iam.deleteRole({ RoleName: 'gitlab-role' }));
      expect(err.name).toBe('DeleteConflict');
      expect(classify(err)).toBe('dependency');

      await iam.detachRolePolicy({ RoleName: 'gitlab-role', PolicyArn: policyArn });
      await iam.deleteRole({ RoleName: 'gitlab-role' });
      expect(classify(await rejection(iam.getRole({ RoleName: 'gitlab-role' })))).toBe('not-found');
    });

    it('refuses to delete a policy that is still attached', async () => {
      const session = await sandboxSession(await stateDir());
      const { iam, policyArn } = await roleWithPolicy(session);

      const err = await rejection(iam.deletePolicy({ PolicyArn: policyArn }));
      expect(err.name).toBe('DeleteConflict');
      expect(classify(err)).toBe('dependency');
      expect((await iam.getPolicy({ PolicyArn: policyArn })).Policy?.Arn).toBe(policyArn);
    });

    it('refuses to delete an instance profile that still holds a role', async () => {
      const session = await sandboxSession(await stateDir());
      const iam = await session.iam();
      await iam.createRole({ RoleName: 'gitlab-role', AssumeRolePolicyDocument: TRUST });
      await iam.createInstanceProfile({ InstanceProfileName: 'gitlab-profile' });
      await iam.addRoleToInstanceProfile({ InstanceProfileName: 'gitlab-profile', RoleName: 'gitlab-role' });

      const err = await rejection(iam.deleteInstanceProfile({ InstanceProfileName: 'gitlab-profile' }));
      expect(err.name).toBe('DeleteConflict');
      expect(classify(err)).toBe('dependency');
    });

    it('refuses to add a role to an instance profile twice', async () => {
      const session = await sandboxSession(await stateDir());
      const iam = await session.iam();
      await iam.createRole({ RoleName: 'gitlab-role', AssumeRolePolicyDocument: TRUST });
      await iam.createInstanceProfile({ InstanceProfileName: 'gitlab-profile' });
      await iam.addRoleToInstanceProfile({ InstanceProfileName: 'gitlab-profile', RoleName: 'gitlab-role' });

      const err = await rejection(iam.addRoleToInstanceProfile({ InstanceProfileName: 'gitlab-profile', RoleName: 'gitlab-role' }));
      expect(err.name).toBe('LimitExceeded');
      const profile = await iam.getInstanceProfile({ InstanceProfileName: 'gitlab-profile' });
      expect(profile.InstanceProfile?.Roles?.map((r) => r.RoleName)).toEqual(['gitlab-role']);
    });
  });

  it('answers an operation it does not implement with an error, never with a network call', async () => {
    const connect = vi.spyOn(Socket.prototype, 'connect');
    const session = await sandboxSession(await stateDir());

    // Operations far outside what the guide builds, so the sandbox will not grow them.
    const ec2Err = await rejection((await session.ec2()).describeSpotPriceHistory({}));
    const iamErr = await rejection((await session.iam()).listUsers({}));

    expect(ec2Err.name).toBe('InvalidAction');
    expect(ec2Err.message).toContain('ec2:DescribeSpotPriceHistory');
    expect(iamErr.name).toBe('InvalidAction');
    expect(iamErr.message).toContain('iam:ListUsers');
    expect(connect).not.toHaveBeenCalled();
  });
});
