import { describe, expect, it } from 'vitest';
import type { EC2 } from '@aws-sdk/client-ec2';
import { createAwsSession, type AwsSession } from '../src/aws/clients.js';
import { readState, statePaths } from '../src/state/store.js';
import { runCli, sandboxInventory, tempDir } from './helpers.js';
import { heldAndPlanned, planFor } from './plan-helpers.js';

/**
 * Every interrupted or disturbed deployment can be continued: whatever a teardown left, whatever
 * the operator deleted by hand, `install` ends with exit 0 and exactly what the plan lists.
 * (Crashes at every call of a teardown: test/crash-sweep-teardown.test.ts.)
 */
const install = (dir: string, env: Record<string, string> = {}) => runCli(['install', '--sandbox', '--yes', '--state-dir', dir], env);
const teardown = (dir: string, env: Record<string, string> = {}) => runCli(['teardown', '--sandbox', '--yes', '--state-dir', dir], env);

/** The operator's own AWS CLI, on the same (sandbox) account. */
function operator(dir: string): Promise<AwsSession> {
  return createAwsSession({ region: 'us-west-2', sandbox: { stateDir: dir } });
}

const named = (...names: string[]) => [{ Name: 'tag:Name', Values: names }];

async function natGateways(ec2: EC2, ...names: string[]) {
  return (await ec2.describeNatGateways({ Filter: named(...names) })).NatGateways ?? [];
}

/** Installs, checks the result is the plan, and hands back the plan for the checks after recovery. */
async function installed(dir: string) {
  const plan = await planFor(dir);
  const run = await install(dir);
  expect(run.code, run.stderr).toBe(0);
  const { held, planned } = await heldAndPlanned(dir, plan);
  expect(held).toEqual(planned);
  return plan;
}

async function expectCleanInstall(dir: string, plan: Awaited<ReturnType<typeof planFor>>) {
  const run = await install(dir);
  expect(run.code, run.stderr).toBe(0);
  const { held, planned } = await heldAndPlanned(dir, plan);
  expect(held).toEqual(planned);
  return run;
}

describe('install continues whatever state it finds', () => {
  it('after a teardown killed midway, installs to the clean inventory', async () => {
    const dir = await tempDir();
    const plan = await installed(dir);
    // Killed (SIGKILL) right after its 50th mutating call: route tables gone, NAT gateways deleting
    // (the compute steps, torn down first, take the first thirty or so).
    const killed = await teardown(dir, { GITLAB_AWS_SANDBOX_FAULTS: JSON.stringify({ crashAfter: 50 }) });
    expect(killed.signal).toBe('SIGKILL');
    expect((await sandboxInventory(dir)).some((r) => r.type === 'AWS::EC2::RouteTable')).toBe(false);

    await expectCleanInstall(dir, plan);
  });

  it('after a teardown that kept the buckets holding data, adopts them again with their data', async () => {
    const dir = await tempDir();
    const plan = await installed(dir);
    const aws = await operator(dir);
    const s3 = await aws.s3();
    const account = (await (await aws.sts()).getCallerIdentity({})).Account!;
    const kept = `gl-gitlab-${account}-artifacts`;
    await s3.putObject({ Bucket: kept, Key: 'job/log.txt', Body: 'keep me' });
    await aws.close();

    const torn = await teardown(dir);
    expect(torn.code, torn.stderr).toBe(0);
    expect((await sandboxInventory(dir)).map((r) => r.id)).toEqual([kept]);

    await expectCleanInstall(dir, plan);
    const state = await readState(statePaths(dir, 'gitlab').file);
    expect(state?.steps['s3-buckets']?.status).toBe('complete');
    expect(state?.resources.filter((r) => r.id === kept)).toHaveLength(1);
    const again = await operator(dir);
    const objects = await (await again.s3()).listObjectVersions({ Bucket: kept });
    await again.close();
    expect(objects.Versions?.map((v) => v.Key)).toEqual(['job/log.txt']);
  });

  it('after a route table and a NAT gateway were deleted by hand, re-creates them and routes through the new gateway', async () => {
    const dir = await tempDir();
    const plan = await installed(dir);
    const aws = await operator(dir);
    const ec2 = await aws.ec2();
    const table = (await ec2.describeRouteTables({ Filters: named('gitlab-private-a') })).RouteTables![0]!;
    for (const a of table.Associations ?? []) await ec2.disassociateRouteTable({ AssociationId: a.RouteTableAssociationId! });
    await ec2.deleteRouteTable({ RouteTableId: table.RouteTableId! });
    const [natB] = await natGateways(ec2, 'gitlab-nat-b');
    // Still `deleting` (holding its address) when the install comes.
    await ec2.deleteNatGateway({ NatGatewayId: natB!.NatGatewayId! });
    await aws.close();

    const run = await expectCleanInstall(dir, plan);
    expect(run.stdout + run.stderr).not.toMatch(/client token/i);
    const after = await operator(dir);
    const ec2After = await after.ec2();
    const liveB = (await natGateways(ec2After, 'gitlab-nat-b')).filter((n) => n.State === 'available');
    expect(liveB.map((n) => n.NatGatewayId)).not.toContain(natB!.NatGatewayId);
    expect(liveB).toHaveLength(1);
    const tables = (await ec2After.describeRouteTables({ Filters: named('gitlab-private-a', 'gitlab-private-b') })).RouteTables ?? [];
    await after.close();
    expect(tables.map((t) => t.RouteTableId)).not.toContain(table.RouteTableId);
    const routeB = tables
      .find((t) => t.Tags?.some((tag) => tag.Key === 'Name' && tag.Value === 'gitlab-private-b'))
      ?.Routes?.find((r) => r.DestinationCidrBlock === '0.0.0.0/0');
    expect(routeB).toMatchObject({ NatGatewayId: liveB[0]!.NatGatewayId, State: 'active' });
  });

  it('after the IAM policy, a bucket and a secret were deleted by hand, re-creates each of them', async () => {
    const dir = await tempDir();
    const plan = await installed(dir);
    const aws = await operator(dir);
    const account = (await (await aws.sts()).getCallerIdentity({})).Account!;
    const iam = await aws.iam();
    const state = (await readState(statePaths(dir, 'gitlab').file))!;
    const { roleName, policyArn } = state.steps['iam-role']!.outputs as { roleName: string; policyArn: string };
    await iam.detachRolePolicy({ RoleName: roleName, PolicyArn: policyArn });
    await iam.deletePolicy({ PolicyArn: policyArn });
    await (await aws.s3()).deleteBucket({ Bucket: `gl-gitlab-${account}-pages` });
    await (await aws.ssm()).deleteParameters({ Names: ['/gitlab-aws/gitlab/root-password'] });
    await aws.close();

    await expectCleanInstall(dir, plan);
    const after = await operator(dir);
    const attached = await (await after.iam()).listAttachedRolePolicies({ RoleName: roleName });
    const password = await (await after.ssm()).getParameter({ Name: '/gitlab-aws/gitlab/root-password', WithDecryption: true });
    await after.close();
    expect(attached.AttachedPolicies?.map((p) => p.PolicyArn)).toEqual([policyArn]);
    expect(password.Parameter?.Value).toMatch(/^[\w-]{32}$/);
  });

  it('after NAT gateways failed and the operator deleted them as advised, a resume creates new ones', async () => {
    const dir = await tempDir();
    const plan = await planFor(dir);
    const failing = await install(dir, { GITLAB_AWS_SANDBOX_FAULTS: JSON.stringify({ failNatGateways: true }) });
    expect(failing.code).toBe(1);
    expect(failing.stderr).toMatch(/NAT gateway nat-\w+ failed: .*; delete it and resume/);

    const aws = await operator(dir);
    const ec2 = await aws.ec2();
    const failed = (await natGateways(ec2, 'gitlab-nat-a', 'gitlab-nat-b')).filter((n) => n.State === 'failed');
    expect(failed.length).toBeGreaterThan(0);
    for (const nat of failed) await ec2.deleteNatGateway({ NatGatewayId: nat.NatGatewayId! });
    await aws.close();

    await expectCleanInstall(dir, plan);
    const after = await operator(dir);
    const live = await natGateways(await after.ec2(), 'gitlab-nat-a', 'gitlab-nat-b');
    await after.close();
    const available = live.filter((n) => n.State === 'available').map((n) => n.NatGatewayId);
    expect(available).toHaveLength(2);
    for (const nat of failed) expect(available).not.toContain(nat.NatGatewayId);
  });
});
