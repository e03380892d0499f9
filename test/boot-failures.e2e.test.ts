import { readFile, writeFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EC2 } from '@aws-sdk/client-ec2';
import { createAwsSession, type AwsSession } from '../src/aws/clients.js';
import type { StateDoc } from '../src/state/schema.js';
import { readState, statePaths } from '../src/state/store.js';
import { baseInstance } from '../src/steps/base-instance.js';
import { bastionHosts } from '../src/steps/bastion-hosts.js';
import { iamRole } from '../src/steps/iam-role.js';
import { loadBalancer } from '../src/steps/load-balancer.js';
import { gitaly } from '../src/steps/gitaly.js';
import { secrets } from '../src/steps/secrets.js';
import { securityGroups } from '../src/steps/security-groups.js';
import { tempDir } from './helpers.js';
import { copyOf, installUntil } from './install-until.js';

/**
 * The sandbox boots what we render and judges it as GitLab would (docs/compute-contract.md, last
 * section). For each of its checks, the wiring is broken the way an operator or a wrong output
 * would break it, between the steps before the base instance and the base instance itself; the
 * install must stop on the base instance with the reason, the console's tail and the ssh -A line.
 * One install up to the base instance is shared: each check breaks a copy of it.
 */
const REGION = 'us-west-2';
let prepared: string;

beforeAll(async () => {
  prepared = await tempDir('gitlab-aws-boot-');
  const run = await installUntil(prepared, baseInstance.needs);
  expect(run.failures).toEqual([]);
  expect(run.stopped).toBe(true);
}, 120_000);

async function broken(name: string): Promise<string> {
  return copyOf(prepared, `${await tempDir(`gitlab-aws-boot-${name}-`)}/copy`);
}

async function withAws<T>(dir: string, work: (aws: AwsSession, doc: StateDoc) => Promise<T>): Promise<T> {
  const aws = await createAwsSession({ region: REGION, sandbox: { stateDir: dir } });
  try {
    return await work(aws, (await readState(statePaths(dir, 'gitlab').file))!);
  } finally {
    await aws.close();
  }
}

/** Changes one recorded output in the state file, as a hand edit or a restored old copy would. */
async function tamper(dir: string, edit: (doc: StateDoc) => void): Promise<void> {
  const file = statePaths(dir, 'gitlab').file;
  const doc = JSON.parse(await readFile(file, 'utf8')) as StateDoc;
  edit(doc);
  await writeFile(file, JSON.stringify(doc, null, 2));
}

const outputsOf = <T>(doc: StateDoc, step: { id: string; outputs: { parse(v: unknown): T } }): T =>
  step.outputs.parse(doc.steps[step.id]!.outputs);

/** Revokes every inbound rule of `role`'s group on `port`, as an operator tidying rules would. */
async function revoke(ec2: EC2, doc: StateDoc, role: 'loadbalancer' | 'rds' | 'redis' | 'gitaly', port: number): Promise<void> {
  const groupId = outputsOf(doc, securityGroups).groupIds[role];
  const rules = (await ec2.describeSecurityGroupRules({ Filters: [{ Name: 'group-id', Values: [groupId] }] })).SecurityGroupRules ?? [];
  const ids = rules.filter((r) => !r.IsEgress && r.FromPort === port).map((r) => r.SecurityGroupRuleId!);
  expect(ids.length, `rules of ${role} on ${port}`).toBeGreaterThan(0);
  await ec2.revokeSecurityGroupIngress({ GroupId: groupId, SecurityGroupRuleIds: ids });
}

/** Resumes the broken copy; the install must stop on the base instance, saying why and where to look. */
async function expectBootFailure(dir: string, cause: RegExp): Promise<string> {
  const run = await installUntil(dir, [baseInstance.id]);
  expect(run.code).toBe(1);
  expect(run.failures).toHaveLength(1);
  const failure = run.failures[0]!;
  expect(failure).toMatch(/^✖ base-instance: /);
  expect(failure).toMatch(/waiting for GitLab on i-[0-9a-f]+ to answer \/-\/readiness through the load balancer/);
  // What it last saw: the target's verdict with its reason, whether the wait timed out or the boot script stopped.
  expect(failure).toMatch(/last seen: target (initial|unhealthy) \((Elb|Target)\.\w+: /);
  expect(failure).toMatch(/last \d+ lines of its console output:/);
  expect(failure).toMatch(cause);
  const { bastion, base } = await withAws(dir, async (aws, doc) => {
    const found = await (await aws.ec2()).describeInstances({ Filters: [{ Name: 'tag:Name', Values: ['gitlab-gitlab-source'] }] });
    const instance = found.Reservations!.flatMap((r) => r.Instances!).find((i) => i.State?.Name === 'running')!;
    return { bastion: outputsOf(doc, bastionHosts).hosts.find((h) => h.zone === 'a')!, base: instance };
  });
  expect(failure).toContain(`ssh -A -J ubuntu@${bastion.publicIp} ubuntu@${base.PrivateIpAddress}`);
  return failure;
}

describe('a wiring mistake stops the install at the base instance, saying why', () => {
  it('the database host is not the RDS instance (a tampered address)', async () => {
    const dir = await broken('db-host');
    await tamper(dir, (doc) => {
      (doc.steps['rds-postgres']!.outputs as { address: string }).address = 'gitlab-db-ha.old.us-west-2.rds.amazonaws.com';
    });
    await expectBootFailure(dir, /PG::ConnectionBad/);
  });

  it("the database's group no longer admits 5432 from the GitLab instances", async () => {
    const dir = await broken('db-port');
    await withAws(dir, async (aws, doc) => revoke(await aws.ec2(), doc, 'rds', 5432));
    await expectBootFailure(dir, /PG::ConnectionBad/);
  });

  it('the Redis host is not the primary endpoint (a tampered endpoint)', async () => {
    const dir = await broken('redis-host');
    await tamper(dir, (doc) => {
      (doc.steps.elasticache!.outputs as { primaryEndpoint: { address: string } }).primaryEndpoint.address =
        'master.gitlab-redis.old.usw2.cache.amazonaws.com';
    });
    await expectBootFailure(dir, /Redis/);
  });

  it("the cache's group no longer admits 6379", async () => {
    const dir = await broken('redis-port');
    await withAws(dir, async (aws, doc) => revoke(await aws.ec2(), doc, 'redis', 6379));
    await expectBootFailure(dir, /Redis/);
  });

  it('the Redis AUTH token parameter was deleted', async () => {
    const dir = await broken('redis-auth');
    await withAws(dir, async (aws, doc) => {
      await (await aws.ssm()).deleteParameter({ Name: outputsOf(doc, secrets).parameters['redis-auth-token'] });
    });
    // The secrets step makes the missing parameter anew, with a new value the cache never heard of.
    await expectBootFailure(dir, /Redis::CommandError: WRONGPASS/);
  });

  it("the Gitaly address is not Gitaly's private IP (a tampered output)", async () => {
    const dir = await broken('gitaly-ip');
    await tamper(dir, (doc) => {
      (doc.steps.gitaly!.outputs as { privateIp: string }).privateIp = '10.0.1.250';
    });
    // The node waits for Gitaly before its reconfigure, and that is where it stays.
    await expectBootFailure(dir, /gitlab-aws: waiting for 10\.0\.1\.250:8075\ninvestigate/);
  });

  it("Gitaly's group no longer admits 8075 from the GitLab instances", async () => {
    const dir = await broken('gitaly-port');
    const gitalyIp = await withAws(dir, async (aws, doc) => {
      await revoke(await aws.ec2(), doc, 'gitaly', 8075);
      return gitaly.outputs.parse(doc.steps.gitaly!.outputs).privateIp;
    });
    await expectBootFailure(dir, new RegExp(`gitlab-aws: waiting for ${gitalyIp.replace(/\./g, '\\.')}:8075\ninvestigate`));
  });

  it('the monitoring allowlist misses the VPC CIDR (a tampered VPC CIDR): the health check gets 404', async () => {
    const dir = await broken('vpc-cidr');
    await tamper(dir, (doc) => {
      (doc.steps.vpc!.outputs as { cidrBlock: string }).cidrBlock = '172.31.0.0/16';
    });
    await expectBootFailure(dir, /404/);
  });

  it("the instance role's policy no longer grants reading the parameters", async () => {
    const dir = await broken('ssm-policy');
    await withAws(dir, async (aws, doc) => {
      // A new default version without the SSM statement: still attached, so the role step stands.
      const iam = await aws.iam();
      const { policyArn } = iamRole.outputs.parse(doc.steps['iam-role']!.outputs);
      const policy = (await iam.getPolicy({ PolicyArn: policyArn })).Policy!;
      const version = (await iam.getPolicyVersion({ PolicyArn: policyArn, VersionId: policy.DefaultVersionId! })).PolicyVersion!;
      const document = JSON.parse(decodeURIComponent(version.Document!)) as { Statement: Array<{ Action: string[] }> };
      document.Statement = document.Statement.filter((s) => !s.Action.some((a) => a.startsWith('ssm:')));
      await iam.createPolicyVersion({ PolicyArn: policyArn, PolicyDocument: JSON.stringify(document), SetAsDefault: true });
    });
    await expectBootFailure(dir, /AccessDeniedException.*ssm:GetParameter/);
  });

  it('HTTP to the GitLab instances is no longer admitted from the load balancer', async () => {
    const dir = await broken('http');
    await withAws(dir, async (aws, doc) => revoke(await aws.ec2(), doc, 'loadbalancer', 80));
    await expectBootFailure(dir, /last seen: target unhealthy \(Target\.(Timeout|FailedHealthChecks)/);
  });

  it('proxy protocol turned on for the target group only, not in gitlab.rb', async () => {
    const dir = await broken('proxy');
    await withAws(dir, async (aws, doc) => {
      await (
        await aws.elbv2()
      ).modifyTargetGroupAttributes({
        TargetGroupArn: outputsOf(doc, loadBalancer).targetGroupArns.http,
        Attributes: [{ Key: 'proxy_protocol_v2.enabled', Value: 'true' }],
      });
    });
    await expectBootFailure(dir, /proxy/i);
  });
});
