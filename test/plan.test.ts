import { readdir } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { createAwsSession } from '../src/aws/clients.js';
import { TAG_DEPLOYMENT, TAG_STEP } from '../src/aws/tags.js';
import { buildInstallConfig } from '../src/config/schema.js';
import { ACCOUNT_PLACEHOLDER, buildPlan, type PlanView } from '../src/engine/plan.js';
import { IMAGE_ROOT_GIB, type MonthlyCost } from '../src/pricing/cost.js';
import { PRICE_TABLE_AS_OF } from '../src/pricing/table.js';
import { GUIDE_STEPS } from '../src/steps/index.js';
import { BUCKET_TYPES } from '../src/steps/names.js';
import { GUIDE, GUIDE_SECTIONS } from '../src/steps/sections.js';
import { planLines } from '../src/ui/plan.js';
import { runCli, tempDir } from './helpers.js';

const pending = () => 'pending';

describe('the plan', () => {
  test("lists every resource of the guide's steps, named as the install names them", () => {
    const config = buildInstallConfig({ deployment: 'gitlab', region: 'us-west-2' });
    const plan = buildPlan(GUIDE, config, true, pending);
    const of = (step: string) => plan.resources.filter((r) => r.step === step).map((r) => `${r.type} ${r.name}`);

    expect(of('vpc')).toEqual(['AWS::EC2::VPC gitlab-vpc']);
    expect(of('subnets')).toEqual([
      'AWS::EC2::Subnet gitlab-public-10.0.0.0',
      'AWS::EC2::Subnet gitlab-private-10.0.1.0',
      'AWS::EC2::Subnet gitlab-public-10.0.2.0',
      'AWS::EC2::Subnet gitlab-private-10.0.3.0',
    ]);
    expect(of('nat-gateways')).toEqual([
      'AWS::EC2::EIP gitlab-nat-a-eip',
      'AWS::EC2::NatGateway gitlab-nat-a',
      'AWS::EC2::EIP gitlab-nat-b-eip',
      'AWS::EC2::NatGateway gitlab-nat-b',
    ]);
    expect(of('iam-role')).toEqual([
      'AWS::IAM::ManagedPolicy gitlab-gl-s3-policy',
      'AWS::IAM::Role gitlab-GitLabS3Access',
      'AWS::IAM::InstanceProfile gitlab-GitLabS3Access',
    ]);
    expect(of('s3-buckets')).toHaveLength(BUCKET_TYPES.length);
    expect(of('s3-buckets')).toContain(`AWS::S3::Bucket gl-gitlab-${ACCOUNT_PLACEHOLDER}-artifacts`);
    expect(of('secrets')).toContain('AWS::SSM::Parameter /gitlab-aws/gitlab/rails/ci-jwt-signing-key');
    expect(of('dns-record')).toEqual(['AWS::Route53::RecordSet <domain>. A']);
    expect(of('load-balancer')).toEqual([
      'AWS::ElasticLoadBalancingV2::LoadBalancer gitlab-loadbalancer',
      'AWS::ElasticLoadBalancingV2::TargetGroup gitlab-loadbalancer-http-target',
      'AWS::ElasticLoadBalancingV2::TargetGroup gitlab-loadbalancer-ssh-target',
      'AWS::ElasticLoadBalancingV2::Listener gitlab-loadbalancer-tcp-22',
      'AWS::ElasticLoadBalancingV2::Listener gitlab-loadbalancer-tcp-80',
      'AWS::ElasticLoadBalancingV2::Listener gitlab-loadbalancer-tls-443',
    ]);
    // Every step declares what it makes: none is missing from the plan. The hosted zone is found,
    // and made only when the operator agrees (--create-hosted-zone, below); the machine images are
    // looked up, and retiring the base instance makes nothing.
    const makesNothing = ['hosted-zone', 'machine-images', 'retire-base-instance'];
    expect(new Set(plan.resources.map((r) => r.step))).toEqual(
      new Set(GUIDE_STEPS.map((s) => s.id).filter((id) => !makesNothing.includes(id))),
    );
    const withZone = buildPlan(GUIDE, { ...config, domain: 'gitlab.corp.test', createHostedZone: true }, true, pending);
    expect(withZone.resources.filter((r) => r.step === 'hosted-zone')).toEqual([
      { step: 'hosted-zone', type: 'AWS::Route53::HostedZone', name: 'corp.test.' },
    ]);
  });

  test('follows the answers: deployment name, CIDRs, bucket prefix, and the account once known', () => {
    const config = buildInstallConfig({
      deployment: 'staging',
      region: 'eu-west-1',
      file: {
        vpcCidr: '10.20.0.0/16',
        subnetCidrs: { publicA: '10.20.0.0/24', privateA: '10.20.1.0/24', publicB: '10.20.2.0/24', privateB: '10.20.3.0/24' },
      },
    });
    const names = (account?: string, prefix?: string) =>
      buildPlan(GUIDE, prefix ? { ...config, bucketPrefix: prefix } : config, false, pending, account).resources.map((r) => r.name);

    expect(names()).toContain('staging-public-10.20.0.0');
    expect(names()).toContain('staging-private-a');
    expect(names().filter((n) => n.startsWith('gitlab'))).toEqual([]);
    expect(names('123456789012')).toContain('gl-staging-123456789012-backups');
    expect(names('123456789012', 'acme')).toContain('acme-backups');
    expect(names('123456789012', 'acme').filter((n) => n.includes('123456789012'))).toEqual([]);
  });

  test('the rendered plan shows each step with its resources under it, and the totals', () => {
    const config = buildInstallConfig({ deployment: 'gitlab', region: 'us-west-2' });
    const plan = buildPlan(GUIDE, config, true, pending);
    const lines = planLines(plan, config);
    const vpcLine = lines.findIndex((l) => /^\s+2\. VPC\s+wave 1, starts at once$/.test(l));
    expect(vpcLine).toBeGreaterThan(-1);
    expect(lines[vpcLine + 1]).toMatch(/^\s+AWS::EC2::VPC\s+gitlab-vpc$/);
    expect(lines[vpcLine + 2]).toMatch(/^\s+3\. Subnets\s+wave 2, after vpc$/);
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^${plan.resources.length} resources in ${GUIDE_STEPS.length} steps; ${plan.resources.length - 1} remain once the install is done`,
      ),
    );
    // The steps appear under the guide's headings, each heading with when it starts and ends.
    expect(lines[vpcLine - 1]).toBe('Configuring the network (starts at once, done after ~2m19s)');
    expect(lines.find((l) => l.includes('gitlab-gitlab-source'))).toMatch(/\(retired by 'Base instance retired'\)$/);
  });
});

describe("the plan by the guide's sections", () => {
  const config = buildInstallConfig({ deployment: 'gitlab', region: 'us-west-2' });
  const plan = buildPlan(GUIDE, config, true, pending);

  test("every step of the guide is in exactly one section, and the sections keep the guide's order", () => {
    const placed = GUIDE_SECTIONS.flatMap((s) => s.steps);
    expect([...placed].sort()).toEqual(GUIDE_STEPS.map((s) => s.id).sort());
    expect(new Set(placed).size).toBe(placed.length);
    expect(plan.sections.map((s) => s.title)).toEqual([
      'Create an IAM EC2 instance role and profile',
      'Configuring the network',
      'Load Balancer',
      'PostgreSQL with RDS',
      'Redis with ElastiCache',
      'Setting up Bastion Hosts',
      'Install GitLab and create custom AMI',
      'Deploy GitLab inside an auto scaling group',
    ]);
    // What the sections list is exactly what the plan lists, nothing twice.
    expect(plan.sections.flatMap((s) => s.resources).sort(byName)).toEqual([...plan.resources].sort(byName));
  });

  test('each section starts and ends when its steps can on the earliest schedule, the last one on the critical path', () => {
    const section = (title: string) => plan.sections.find((s) => s.title === title)!;
    // The database starts once the subnets, groups and secrets are there, and takes its 15 minutes.
    const rds = plan.steps.find((s) => s.id === 'rds-postgres')!;
    const needsDone = Math.max(...rds.needs.map((id) => plan.steps.find((s) => s.id === id)!.finish));
    expect(section('PostgreSQL with RDS')).toMatchObject({
      start: needsDone,
      finish: needsDone + GUIDE_STEPS.find((s) => s.id === 'rds-postgres')!.minutes,
    });
    expect(section('Create an IAM EC2 instance role and profile').start).toBe(0);
    // The custom AMI waits for the base instance, which waits for the database and the cache.
    expect(section('Install GitLab and create custom AMI').finish).toBeGreaterThan(section('PostgreSQL with RDS').finish);
    expect(Math.max(...plan.sections.map((s) => s.finish))).toBeCloseTo(plan.criticalPathMinutes, 6);
    expect(section('Deploy GitLab inside an auto scaling group').finish).toBeCloseTo(plan.criticalPathMinutes, 6);
  });

  test('the base instance is planned as retired: the plan says how many resources remain, fewer by it', () => {
    const retired = plan.resources.filter((r) => r.retiredBy);
    expect(retired).toEqual([
      { step: 'base-instance', type: 'AWS::EC2::Instance', name: 'gitlab-gitlab-source', retiredBy: 'retire-base-instance' },
    ]);
    expect(GUIDE_STEPS.map((s) => s.id)).toContain(retired[0]!.retiredBy);
    expect(plan.remaining).toBe(plan.resources.length - 1);
  });
});

const byName = (a: { step: string; name: string; type: string }, b: { step: string; name: string; type: string }) =>
  `${a.step} ${a.type} ${a.name}`.localeCompare(`${b.step} ${b.type} ${b.name}`);

describe('plan and install on the command line (the built CLI, sandbox)', () => {
  test('plan --json carries the sections and the cost; the install ends with as many resources as the plan said remain', async () => {
    const dir = await tempDir();
    const planned = await runCli(['plan', '--sandbox', '--json', '--state-dir', dir]);
    expect(planned.code).toBe(0);
    const view = JSON.parse(planned.stdout) as PlanView & { cost: MonthlyCost };
    expect(view.sections.map((s) => s.steps.length)).toEqual([1, 7, 4, 1, 1, 3, 5, 4]);
    expect(view.cost).toMatchObject({
      total: 1397.63,
      source: `built-in table of ${PRICE_TABLE_AS_OF} (plan --sandbox asks no Price List)`,
    });
    expect(view.remaining).toBe(view.resources.length - 1);
    // plan --sandbox only reads the sandbox's images (their root volumes): nothing is written, no account made.
    expect(await readdir(dir)).toEqual([]);

    const installed = await runCli(['install', '--sandbox', '--yes', '--json', '--state-dir', dir]);
    expect(installed.code).toBe(0);
    const events = installed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { code: string; text?: string; data?: Record<string, unknown> });
    // The screen before the question: the same plan, priced from the sandbox's Price List.
    const screen = events.find((e) => e.code === 'plan')!;
    expect(screen.data).toMatchObject({
      remaining: view.remaining,
      cost: { total: view.cost.total, source: `sandbox Price List, ${PRICE_TABLE_AS_OF}` },
    });
    expect(screen.text).toContain(
      `${view.resources.length} resources in ${GUIDE_STEPS.length} steps; ${view.remaining} remain once the install is done`,
    );
    const done = events.find((e) => e.code === 'install.done')!;
    expect(done.data?.resources).toBe(view.remaining);
    expect(done.text).toContain(`is up: ${view.remaining} resources recorded`);

    // The cost priced the root volumes and the snapshot the install really made: the sizes EC2 reports.
    const aws = await createAwsSession({ region: 'us-west-2', sandbox: { stateDir: dir } });
    try {
      const ec2 = await aws.ec2();
      const instances = (
        (await ec2.describeInstances({ Filters: [{ Name: `tag:${TAG_DEPLOYMENT}`, Values: ['gitlab'] }] })).Reservations ?? []
      )
        .flatMap((r) => r.Instances ?? [])
        .filter((i) => i.State?.Name === 'running');
      const rootSizes = async (step: string) => {
        const ofStep = instances.filter((i) => i.Tags?.some((t) => t.Key === TAG_STEP && t.Value === step));
        const ids = ofStep.map((i) => i.BlockDeviceMappings!.find((m) => m.DeviceName === i.RootDeviceName)!.Ebs!.VolumeId!);
        return ((await ec2.describeVolumes({ VolumeIds: ids })).Volumes ?? []).map((v) => v.Size!);
      };
      const line = (what: RegExp) => view.cost.lines.find((l) => what.test(l.what))!;
      for (const [step, what] of [
        ['bastion-hosts', /root volumes, bastion hosts$/],
        ['auto-scaling-group', /root volumes, GitLab nodes$/],
      ] as const) {
        const sizes = await rootSizes(step);
        expect(sizes.length, step).toBeGreaterThan(0);
        expect(line(what).quantity, step).toBe(sizes.reduce((a, b) => a + b, 0));
        expect(line(what).what).toContain(`${sizes.length} × ${sizes[0]} GiB gp3`);
      }
      const baked = (await ec2.describeImages({ Owners: ['self'] })).Images ?? [];
      expect(baked).toHaveLength(1);
      const snapshotGib = baked[0]!.BlockDeviceMappings!.map((m) => m.Ebs?.VolumeSize ?? 0).reduce((a, b) => a + b, 0);
      expect(line(/^the AMI's snapshot/).quantity).toBe(snapshotGib);
    } finally {
      await aws.close();
    }
  });

  test('plan on a real account that cannot be reached prices from the table and names the reason', async () => {
    const dir = await tempDir();
    const run = await runCli(['plan', '--region', 'eu-west-1', '--json', '--state-dir', dir]);
    expect(run.code).toBe(0);
    const view = JSON.parse(run.stdout) as PlanView & { cost: MonthlyCost };
    expect(view.cost.source).toMatch(
      new RegExp(`^built-in table of ${PRICE_TABLE_AS_OF} \\(AWS Price List API not reachable: .*ECONNREFUSED`),
    );
    expect(view.cost.lines.find((l) => l.key === 'ec2:c5.2xlarge')?.unitPrice).toBe(0.384);
    // The images could not be described either: their root volumes at each family's usual size, said so.
    expect(view.cost.notes.find((n) => n.startsWith('root volumes at'))).toMatch(
      new RegExp(
        `^root volumes at their images' usual sizes \\(official GitLab AMI ${IMAGE_ROOT_GIB.gitlab} GiB, Ubuntu ${IMAGE_ROOT_GIB.ubuntu} GiB\\): the region's images were not described \\(.*ECONNREFUSED`,
      ),
    );
    expect(view.cost.lines.find((l) => / root volumes, GitLab nodes$/.test(l.what))?.what).toContain(`× ${IMAGE_ROOT_GIB.gitlab} GiB gp3`);
    expect(await readdir(dir)).toEqual([]);
  });
});
